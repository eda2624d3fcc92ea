"""MultiTask steps that train every task at once: shares of the batch, and gradient aggregators."""

import re
from functools import partial
from types import SimpleNamespace

import pytest
import torch
from torchjd.aggregation import UPGrad

from galvision.backbones import Backbone
from galvision.benchmark.training import configure
from galvision.errors import ConfigError
from galvision.heads import PixelDecoder
from galvision.tasks import ClassificationTask, DeconvolutionTask, MultiTask
from galvision.tasks.joint_steps import share_of
from galvision.tasks.sampling import ActiveSampler, UniformSampler, WeightedSampler
from helpers.training import DRAWN, REPO, fit_tiny, logged, two_process_fit

SHARES = {"deconv": 0.75, "classify": 0.25}
ALL = ("--model.init_args.tasks_per_step", "all")


def two_tasks(tiny_backbone_kwargs: dict, **kwargs) -> MultiTask:
    """Deconvolution and a 3-class classifier on one tiny backbone, drawn 3 : 1."""
    tasks = [
        partial(DeconvolutionTask, head=partial(PixelDecoder, num_maps=2)),
        partial(ClassificationTask, num_classes=3, tta=False),
    ]
    sampler = WeightedSampler({"deconv": 3, "classify": 1})
    return MultiTask(Backbone(**tiny_backbone_kwargs), tasks, sampler=sampler, **kwargs)


def batches(size: int = 8) -> dict[str, dict]:
    image = torch.rand(size, 3, 32, 32)
    return {
        "deconv": {"image": image, "target": image.flip(-1), "psf_fwhm": torch.ones(size)},
        "classify": {"image": image, "label": torch.arange(size) % 3},
    }


def own_losses(multitask: MultiTask, batch: dict[str, dict]) -> dict[str, torch.Tensor]:
    """Each task's loss on its share of its batch, weighted by its share, computed alone."""
    found = {}
    for name, share in SHARES.items():
        task = multitask.tasks[name]
        part = task.prepare(share_of(batch[name], share), "train")
        found[name] = share * task.compute(part)["loss"]
    return found


def test_a_share_cuts_every_tensor_and_list_alike_and_keeps_one_item():
    batch = {"image": torch.rand(8, 1, 4, 4), "ids": list("abcdefgh"), "band": "r"}
    quarter = share_of(batch, 0.25)
    assert quarter["image"].shape[0] == 2 and quarter["ids"] == ["a", "b"]
    assert quarter["band"] == "r"
    assert len(share_of(batch, 0.01)["ids"]) == 1
    assert share_of(batch, 1.0)["image"].shape[0] == 8


def test_every_task_learns_each_step_on_its_share_weighted_by_it(tiny_backbone_kwargs):
    multitask = two_tasks(tiny_backbone_kwargs, tasks_per_step="all")
    batch = batches()
    torch.manual_seed(1)
    loss = multitask.training_step(batch, 0)
    steps = dict(multitask.step_losses)
    torch.manual_seed(1)
    alone = own_losses(multitask, batch)
    for name in SHARES:
        torch.testing.assert_close(steps[name], alone[name])
    torch.testing.assert_close(loss, alone["deconv"] + alone["classify"])


def backbone_gradient(multitask: MultiTask) -> torch.Tensor:
    """The backbone's gradient as one vector."""
    return torch.cat([p.grad.flatten() for p in multitask.backbone.parameters()])


def own_gradients(multitask: MultiTask) -> dict[str, torch.Tensor]:
    """Every parameter's gradient outside the backbone, by name."""
    backbone_ids = {id(p) for p in multitask.backbone.parameters()}
    return {
        name: p.grad.clone()
        for name, p in multitask.named_parameters()
        if id(p) not in backbone_ids and p.grad is not None
    }


def test_the_aggregator_combines_each_tasks_backbone_gradient_and_heads_learn_their_own(
    tiny_backbone_kwargs,
):
    multitask = two_tasks(tiny_backbone_kwargs, tasks_per_step="all", gradient_aggregator=UPGrad())
    batch = batches()
    torch.manual_seed(1)
    multitask.backward(multitask.training_step(batch, 0))
    shared, own = backbone_gradient(multitask), own_gradients(multitask)

    multitask.zero_grad(set_to_none=True)
    torch.manual_seed(1)
    rows = []
    for loss in own_losses(multitask, batch).values():
        loss.backward()
        rows.append(backbone_gradient(multitask))
        multitask.backbone.zero_grad(set_to_none=True)
    jacobian = torch.stack(rows)
    alone = own_gradients(multitask)
    assert set(own) == set(alone) and own
    for name, grad in alone.items():
        torch.testing.assert_close(own[name], grad)
    torch.testing.assert_close(shared, UPGrad()(jacobian), rtol=1e-4, atol=1e-7)
    # UPGrad's promise: no task's loss rises along the combined step, to first order.
    assert (jacobian @ shared >= -1e-6 * shared.norm() * jacobian.norm(dim=1)).all()
    assert torch.nn.functional.cosine_similarity(rows[0], rows[1], dim=0) < 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tasks_per_step": "some"}, "tasks_per_step='some': choose 'one' or 'all'"),
        ({"tasks_per_step": "all", "optimizer_state": "per_task"}, "use 'shared'"),
        ({"gradient_aggregator": UPGrad()}, "set model.tasks_per_step=all"),
    ],
)
def test_step_options_that_do_not_go_together_are_one_line_errors(
    tiny_backbone_kwargs, kwargs, message
):
    with pytest.raises(ConfigError, match=re.escape(message)):
        two_tasks(tiny_backbone_kwargs, **kwargs)


def test_a_run_with_every_task_each_step_and_upgrad_logs_every_task_every_step(tmp_path_factory):
    root = fit_tiny(
        tmp_path_factory, "multitask", "every-task", "fit", *ALL,
        "--model.init_args.gradient_aggregator", "torchjd.aggregation.UPGrad",
    )  # fmt: skip
    steps = len(logged(root, "train/loss"))
    assert steps == 6
    for name in ("deconv", "reconstruct", "classify", "lens"):
        assert len(logged(root, f"train/{name}/loss_step")) == steps, name


@pytest.mark.slow
def test_every_task_each_step_runs_under_plain_ddp_and_an_aggregator_is_refused(tmp_path):
    result = two_process_fit("multitask", tmp_path / "run", *ALL)
    assert result.returncode == 0, result.stderr[-3000:]
    refused = two_process_fit(
        "multitask", tmp_path / "refused", *ALL,
        "--model.init_args.gradient_aggregator", "torchjd.aggregation.UPGrad",
    )  # fmt: skip
    assert refused.returncode != 0
    assert any(
        line.startswith("galvision: error:") and "gradient_aggregator" in line
        for line in refused.stderr.splitlines()
    ), refused.stderr[-2000:]


def test_an_aggregator_refuses_scaled_half_precision(tiny_backbone_kwargs):
    multitask = two_tasks(tiny_backbone_kwargs, tasks_per_step="all", gradient_aggregator=UPGrad())
    multitask._trainer = SimpleNamespace(strategy=None, precision="16-mixed")
    with pytest.raises(ConfigError, match=r"trainer.precision=16-mixed: .* use bf16-mixed"):
        multitask.check_trainer()
    multitask._trainer = SimpleNamespace(strategy=None, precision="bf16-mixed")
    multitask.check_trainer()


def test_the_shipped_config_steps_every_task_on_equal_shares_weighted_by_uncertainty(tmp_path):
    model = configure(REPO / "tasks" / "multitask.yaml", tmp_path, 8, 0, []).model
    assert model.tasks_per_step == "all" and type(model.sampler) is UniformSampler
    assert model.gradient_aggregator is None and model.log_variances is not None


def test_the_drawn_overlay_draws_one_task_a_step_by_the_active_sampler(tmp_path):
    model = configure([REPO / "tasks" / "multitask.yaml", DRAWN], tmp_path, 8, 0, []).model
    assert model.tasks_per_step == "one" and type(model.sampler) is ActiveSampler
    assert model.log_variances is None
    assert (model.sampler.floor, model.sampler.temperature, model.sampler.momentum) == (
        0.15,
        0.05,
        0.5,
    )
