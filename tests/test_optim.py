"""WarmupCosineLR: its shape, and layer decay surviving every step of it; TaskwiseOptimizer."""

import copy
import itertools

import pytest
import torch

from galvision.backbones import Backbone
from galvision.cli import GalvisionCLI
from galvision.errors import ConfigError
from galvision.optim import TaskwiseOptimizer, WarmupCosineLR
from galvision.tasks import ClassificationTask
from helpers.training import config_args

PEAK = 1e-3


def adamw(params) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=PEAK)


def make_task(tiny_backbone_kwargs, scheduler) -> ClassificationTask:
    return ClassificationTask(
        Backbone(**tiny_backbone_kwargs),
        num_classes=3,
        optimizer=adamw,
        lr_scheduler=scheduler,
        layer_decay=0.75,
    )


def one_group(lr: float = PEAK) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def rates_over_steps(scheduler: WarmupCosineLR, steps: int) -> list[float]:
    rates = []
    for _ in range(steps):
        rates.append(scheduler.get_last_lr()[0])
        scheduler.optimizer.step()
        scheduler.step()
    return rates


def test_warmup_then_cosine_to_the_final_fraction():
    scheduler = WarmupCosineLR(one_group(), total_steps=10, warmup_fraction=0.2, final_fraction=0.1)
    rates = rates_over_steps(scheduler, 13)
    expected = {0: 1 / 3, 1: 2 / 3, 2: 1.0, 6: 0.55, 10: 0.1, 12: 0.1}
    for step, factor in expected.items():
        assert rates[step] == pytest.approx(factor * PEAK), step
    assert all(a > b for a, b in itertools.pairwise(rates[2:11]))


def test_layer_decay_ratios_hold_at_every_step(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs, lambda o: WarmupCosineLR(o, total_steps=12))
    scales = [group.get("lr_scale", 1.0) for group in task.parameter_groups()]
    # Two blocks under 0.75 decay: embeddings, first block, then the last block and the head.
    assert sorted(set(scales)) == pytest.approx([0.75**2, 0.75, 1.0])
    scheduler = task.configure_optimizers()["lr_scheduler"]["scheduler"]
    for step in range(12):
        factor = scheduler.factor(step)
        rates = [group["lr"] for group in scheduler.optimizer.param_groups]
        assert rates == pytest.approx([PEAK * factor * scale for scale in scales]), step
        scheduler.optimizer.step()
        scheduler.step()
    assert 0 < factor < 0.05  # the run ended deep in the cosine tail, not at the peak


def test_one_cycle_with_layer_decay_is_refused(tiny_backbone_kwargs):
    task = make_task(
        tiny_backbone_kwargs,
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=PEAK, total_steps=10),
    )
    with pytest.raises(ConfigError, match=r"^model\.lr_scheduler: OneCycleLR .*layer_decay.*"):
        task.configure_optimizers()


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"total_steps": 0}, "total_steps=0"),
        ({"total_steps": 10, "warmup_fraction": 1.0}, "warmup_fraction=1.0"),
        ({"total_steps": 10, "final_fraction": -0.1}, "final_fraction=-0.1"),
    ],
)
def test_bad_schedule_values_are_one_line(kwargs, option):
    with pytest.raises(ConfigError, match=rf"^WarmupCosineLR\.{option} must be"):
        WarmupCosineLR(one_group(), **kwargs)


def test_the_shipped_classification_schedule_keeps_layer_decay():
    cli = GalvisionCLI(
        args=[*config_args("classify"), "--model.init_args.layer_decay", "0.75"], run=False
    )
    configured = cli.model.configure_optimizers()
    optimizer = configured["optimizer"]
    scheduler = configured["lr_scheduler"]["scheduler"]
    peaks = torch.tensor([group["initial_lr"] for group in optimizer.param_groups])
    assert len(set(peaks.tolist())) >= 3  # the blocks of the 2-block backbone, embeddings, head
    for _ in range(3):
        optimizer.step()
        scheduler.step()
        rates = torch.tensor([group["lr"] for group in optimizer.param_groups])
        torch.testing.assert_close(rates / rates.max(), peaks / peaks.max())


def taskwise(param: torch.nn.Parameter, names=("small", "large")) -> TaskwiseOptimizer:
    return TaskwiseOptimizer(lambda: torch.optim.Adam([param], lr=PEAK), list(names))


def test_taskwise_steps_move_the_weights_as_each_task_alone_would():
    """Adam's step does not depend on the weights, so each task's steps must equal those of
    an Adam that saw only that task's gradients. One shared Adam does not give them: its
    momentum carries the large task's gradient into the small task's steps."""
    gradients = {"small": torch.tensor([-1e-4]), "large": torch.tensor([1e-1])}
    order = ["small", "large", "large", "small", "large", "small", "small"]
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = taskwise(param)
    alone = {name: torch.nn.Parameter(torch.zeros(1)) for name in gradients}
    alone_optimizers = {name: torch.optim.Adam([p], lr=PEAK) for name, p in alone.items()}
    shared_param = torch.nn.Parameter(torch.zeros(1))
    shared = torch.optim.Adam([shared_param], lr=PEAK)
    small_steps, shared_small_steps = [], []
    for name in order:
        before, shared_before = param.detach().clone(), shared_param.detach().clone()
        param.grad, shared_param.grad = gradients[name].clone(), gradients[name].clone()
        optimizer.select(name)
        optimizer.step()
        shared.step()
        alone_before = alone[name].detach().clone()
        alone[name].grad = gradients[name].clone()
        alone_optimizers[name].step()
        torch.testing.assert_close(param - before, alone[name] - alone_before)
        if name == "small":
            small_steps.append((param - before).item())
            shared_small_steps.append((shared_param - shared_before).item())
    assert min(small_steps) > 0.5 * PEAK  # a full step down the small task's own gradient
    assert max(shared_small_steps[1:]) < 0  # up the large task's, against its own
    assert optimizer.inner["small"].state[param]["step"] == order.count("small")


def test_taskwise_shares_one_schedule_and_resumes_exactly():
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = taskwise(param)
    scheduler = WarmupCosineLR(optimizer, total_steps=10)

    def train(opt, sched, steps, start):
        for step in range(start, start + steps):
            param.grad = torch.tensor([float(step % 3) - 0.5])
            opt.select(["small", "large"][step % 2])
            opt.step()
            sched.step()

    train(optimizer, scheduler, 3, 0)
    rates = {opt.param_groups[0]["lr"] for opt in optimizer.inner.values()}
    assert rates == {optimizer.param_groups[0]["lr"]} and rates != {PEAK}
    saved, saved_schedule = copy.deepcopy(optimizer.state_dict()), scheduler.state_dict()
    value = param.detach().clone()
    train(optimizer, scheduler, 4, 3)
    expected = param.detach().clone()

    param.data.copy_(value)
    again = taskwise(param)
    again_schedule = WarmupCosineLR(again, total_steps=10)
    again.load_state_dict(saved)
    again_schedule.load_state_dict(saved_schedule)
    assert all(opt.param_groups is again.param_groups for opt in again.inner.values())
    train(again, again_schedule, 4, 3)
    torch.testing.assert_close(param.detach(), expected)


def test_taskwise_errors_name_the_task():
    param = torch.nn.Parameter(torch.zeros(1))
    with pytest.raises(ConfigError, match="no task 'lens'; the tasks are"):
        taskwise(param).select("lens")
    saved = taskwise(param, ["deconv"]).state_dict()
    with pytest.raises(ConfigError, match=r"saved for tasks \['deconv'\]"):
        taskwise(param).load_state_dict(saved)
