"""MultiTask: one backbone, several tasks, a sampler per step, and single-task export."""

import copy
import re
from functools import partial
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch

from galvision.backbones import Backbone, ConvBackbone
from galvision.benchmark.training import configure
from galvision.callbacks import TaskProportionsPlot
from galvision.checkpoints import load_checkpoint_task
from galvision.cli import main
from galvision.errors import ConfigError
from galvision.heads import PixelDecoder
from galvision.tasks import ClassificationTask, DeconvolutionTask, MultiTask, ReconstructionTask
from galvision.tasks.sampling import (
    ActiveSampler,
    ProgressSampler,
    TargetSampler,
    UniformSampler,
    WeightedSampler,
)
from helpers.training import (
    DRAWN,
    REPO,
    config_args,
    csv_rows,
    fit_tiny,
    logged,
    task_config,
    two_process_fit,
)

PLUGIN = Path(__file__).parent / "plugin_example" / "src"
CONF = Path(__file__).parent / "conf"
NAMES = ["deconv", "reconstruct", "classify", "lens"]


@pytest.fixture(scope="module")
def multitask_run(tmp_path_factory) -> Path:
    """Run folder of the tiny multitask config: 6 steps, validation every 2."""
    return fit_tiny(tmp_path_factory, "multitask", "tiny-multitask")


def tiny_multitask(tiny_backbone_kwargs: dict, **kwargs) -> MultiTask:
    head = partial(PixelDecoder, num_maps=2)
    tasks = [
        partial(DeconvolutionTask, head=head),
        partial(ReconstructionTask, head=head),
        partial(ClassificationTask, num_classes=3),
    ]
    return MultiTask(Backbone(**tiny_backbone_kwargs), tasks, **kwargs)


def test_every_task_learns_through_one_backbone(tiny_backbone_kwargs):
    multitask = tiny_multitask(tiny_backbone_kwargs)
    assert all(task.backbone is multitask.backbone for task in multitask.tasks.values())
    shared = list(multitask.backbone.parameters())
    assert len(list(multitask.parameters())) == len(set(map(id, multitask.parameters())))
    image = torch.rand(2, 3, 32, 32)
    batches = {
        "deconv": {"image": image, "target": image, "psf_fwhm": torch.ones(2)},
        "reconstruct": {"image": image, "target": image, "mask": torch.rand(2, 1, 32, 32) > 0.5},
        "classify": {"image": image, "label": torch.tensor([0, 2])},
    }
    joint = multitask.compute(batches)
    alone = [task.compute(batches[name])["loss"] for name, task in multitask.tasks.items()]
    torch.testing.assert_close(joint["loss"], sum(alone))
    for name, task in multitask.tasks.items():
        multitask.zero_grad(set_to_none=True)
        task.compute(batches[name])["loss"].backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in shared[-4:]), name
        others = [t for n, t in multitask.tasks.items() if n != name]
        heads = [p for t in others for n, p in t.named_parameters() if "backbone" not in n]
        assert all(p.grad is None for p in heads), name


def test_the_checkpoint_holds_the_backbone_once_and_reloads(tiny_backbone_kwargs):
    multitask = tiny_multitask(tiny_backbone_kwargs)
    state = multitask.state_dict()
    assert not [key for key in state if key.startswith("tasks.") and ".backbone." in key]
    again = tiny_multitask(tiny_backbone_kwargs)
    again.load_state_dict(state)
    for name, task in again.tasks.items():
        torch.testing.assert_close(
            task.backbone.state_dict(), multitask.tasks[name].backbone.state_dict()
        )
    assert again.tasks["deconv"].backbone is again.backbone


def test_uniform_and_weighted_proportions_are_exact_and_every_rank_draws_alike():
    uniform = UniformSampler(seed=3)
    uniform.start(NAMES)
    assert uniform.proportions == {name: 0.25 for name in NAMES}
    draws = [uniform.draw(step) for step in range(4000)]
    assert {name: draws.count(name) / 4000 for name in NAMES} == pytest.approx(
        uniform.proportions, abs=0.03
    )
    other_rank = UniformSampler(seed=3)
    other_rank.start(NAMES)
    assert [other_rank.draw(step) for step in range(4000)] == draws
    weighted = WeightedSampler({"deconv": 2, "reconstruct": 1, "classify": 1, "lens": 0.5})
    weighted.start(NAMES)
    assert weighted.proportions["deconv"] == pytest.approx(2 / 4.5)
    assert sum(weighted.proportions.values()) == pytest.approx(1)


def test_active_moves_toward_the_task_that_improves_least():
    sampler = ActiveSampler(temperature=0.05, floor=0.05, momentum=0.5)
    sampler.start(NAMES)
    # deconv stalls, the others improve by 20 % at every validation.
    history = [{name: (1.0 if name == "deconv" else 0.8**v) for name in NAMES} for v in range(5)]
    shares = []
    for step, losses in enumerate(history):
        sampler.update(100 * step, losses)
        shares.append(sampler.proportions["deconv"])
    assert shares[0] == 0.25  # the first validation only sets the reference
    assert all(later > earlier for earlier, later in pairwise(shares))
    assert shares[-1] > 0.75  # toward 0.05 + 0.8 / (1 + 3 exp(-0.2 / 0.05)) = 0.81
    assert min(sampler.proportions.values()) > 0.05  # the floor
    assert sum(sampler.proportions.values()) == pytest.approx(1)
    assert [step for step, _ in sampler.history] == [0, 100, 200, 300, 400]
    resumed = ActiveSampler()
    resumed.start(NAMES)
    resumed.load_state_dict(sampler.state_dict())
    assert resumed.draw(7) == sampler.draw(7) and resumed.previous == sampler.previous


def test_a_task_floor_holds_one_task_at_its_share_while_the_others_move():
    sampler = ActiveSampler(temperature=0.05, floor=0.05, momentum=0, task_floors={"deconv": 0.25})
    sampler.start(NAMES)
    sampler.update(0, dict.fromkeys(NAMES, 1.0))
    # deconv improves most, so the rule alone would give it close to its floor.
    sampler.update(100, {"deconv": 0.5, "reconstruct": 1.0, "classify": 0.9, "lens": 0.8})
    lags = -np.array([0.5, 0.0, 0.1, 0.2]) / 0.05  # the rule, written out
    floors = np.array([0.25, 0.05, 0.05, 0.05])
    expected = floors + (1 - floors.sum()) * np.exp(lags) / np.exp(lags).sum()
    assert list(sampler.proportions.values()) == pytest.approx(expected.tolist())
    assert sampler.proportions["deconv"] >= 0.25
    assert sampler.proportions["reconstruct"] > sampler.proportions["classify"] > 0.05


def test_active_keeps_a_task_without_a_loss_at_the_mean():
    sampler = ActiveSampler(momentum=0)
    sampler.start(["a", "b", "c"])
    sampler.update(0, {"a": 1.0, "b": 1.0, "c": 1.0})
    sampler.update(1, {"a": 0.5, "b": 1.0})  # c gave no loss: it takes the mean improvement
    assert sampler.proportions["b"] > sampler.proportions["c"] > sampler.proportions["a"]


def test_progress_moves_toward_the_task_whose_loss_changes_most():
    sampler = ProgressSampler(temperature=0.05, floor=0.05, momentum=0)
    sampler.start(NAMES)
    sampler.update(0, dict.fromkeys(NAMES, 1.0))
    # deconv improves by 30 %, reconstruct forgets (its loss rises 10 %), the others stall.
    sampler.update(100, {"deconv": 0.7, "reconstruct": 1.1, "classify": 1.0, "lens": 1.0})
    shares = sampler.proportions
    assert shares["deconv"] > shares["reconstruct"] > shares["classify"] == shares["lens"]
    progress = np.array([0.3, 0.1, 0.0, 0.0]) / 0.05  # the rule, written out
    expected = 0.05 + 0.8 * np.exp(progress) / np.exp(progress).sum()
    assert list(shares.values()) == pytest.approx(expected.tolist())
    stalled = ActiveSampler(temperature=0.05, floor=0.05, momentum=0)  # the opposite rule
    stalled.start(NAMES)
    stalled.update(0, dict.fromkeys(NAMES, 1.0))
    stalled.update(100, {"deconv": 0.7, "reconstruct": 1.1, "classify": 1.0, "lens": 1.0})
    assert min(stalled.proportions, key=stalled.proportions.get) == "deconv"


def test_toward_targets_the_task_furthest_above_its_target_gets_most():
    targets = {"deconv": 0.05, "reconstruct": 0.002, "classify": 1.0, "lens": 0.3}
    sampler = TargetSampler(targets, temperature=0.1, floor=0.05, momentum=0)
    sampler.start(NAMES)
    # reconstruct is 50 % above its target, deconv 20 %, classify at it, lens below it.
    sampler.update(100, {"deconv": 0.06, "reconstruct": 0.003, "classify": 1.0, "lens": 0.27})
    shares = sampler.proportions
    assert shares["reconstruct"] > shares["deconv"] > shares["classify"] > shares["lens"] > 0.05
    lags = np.array([0.2, 0.5, 0.0, -0.1]) / 0.1  # the rule, written out
    expected = 0.05 + 0.8 * np.exp(lags) / np.exp(lags).sum()
    assert list(shares.values()) == pytest.approx(expected.tolist())
    sampler.update(200, {"deconv": 0.05, "reconstruct": 0.002, "classify": 1.0, "lens": 0.3})
    assert sampler.proportions == pytest.approx({name: 0.25 for name in NAMES})  # all at target
    sampler.update(300, {"deconv": 0.06})  # the others' lags are their mean, 0.2
    assert sampler.proportions == pytest.approx({name: 0.25 for name in NAMES})


@pytest.mark.parametrize(
    ("sampler", "message"),
    [
        (lambda: WeightedSampler({"deconv": 1, "galaxy": 1}), r"names \['galaxy'\] are not"),
        (lambda: WeightedSampler({"deconv": -1}), "weights must be positive"),
        (lambda: ActiveSampler(floor=0.5), "floor=0.5 leaves nothing"),
        (lambda: ActiveSampler(task_floors={"deconv": 0.96}), "floors must sum below 1"),
        (lambda: ActiveSampler(task_floors={"galaxy": 0.3}), r"names \['galaxy'\] are not"),
        (lambda: TargetSampler({"deconv": 0.1}), r"names \['classify'\] have no target"),
        (lambda: TargetSampler({"deconv": 0.1, "classify": 0}), "targets must be positive"),
    ],
)
def test_bad_samplers_are_one_line_errors(sampler, message):
    with pytest.raises(ConfigError, match=message):
        sampler().start(["deconv", "classify"])


def test_per_task_metrics_proportions_and_checkpoint_monitor(multitask_run):
    for name, metric in [("deconv", "psnr"), ("reconstruct", "psnr"), ("classify", "accuracy"),
                         ("lens", "auroc"), ("lens", "loss")]:  # fmt: skip
        assert logged(multitask_run, f"val/{name}/{metric}"), (name, metric)
    shares = [logged(multitask_run, f"sampler/{name}") for name in NAMES]
    assert all(len(values) == len(shares[0]) > 0 for values in shares)
    totals = [sum(step) for step in zip(*shares, strict=True)]
    assert totals == pytest.approx([1.0] * len(totals), abs=1e-6)
    table = csv_rows(next(multitask_run.glob("logs/version_*/task_proportions.csv")))
    assert [row["step"] for row in table] == ["0", "6"]  # equal shares throughout
    assert {float(row[name]) for row in table for name in NAMES} == {0.25}
    assert next(multitask_run.glob("logs/version_*/task_proportions.png")).stat().st_size > 0
    assert list((multitask_run / "checkpoints").glob("step*-psnr*.ckpt"))  # val/deconv/psnr


def test_the_proportions_plot_names_what_the_shares_divide(tiny_backbone_kwargs):
    every = tiny_multitask(tiny_backbone_kwargs, tasks_per_step="all")
    drawn = tiny_multitask(tiny_backbone_kwargs, tasks_per_step="one")
    assert (every.proportions_meaning, drawn.proportions_meaning) == (
        "share of each step",
        "proportion of steps",
    )
    single = ClassificationTask(Backbone(**tiny_backbone_kwargs), num_classes=3)
    with pytest.raises(ConfigError, match="ClassificationTask has none"):
        TaskProportionsPlot().setup(None, single, "fit")


def test_drawn_active_proportions_move_at_each_validation(tmp_path_factory):
    root = fit_tiny(tmp_path_factory, "multitask", "tiny-drawn", "fit", "--config", str(DRAWN))
    table = csv_rows(next(root.glob("logs/version_*/task_proportions.csv")))
    assert [row["step"] for row in table] == ["0", "4", "6"]  # the first validation: a baseline
    assert len({tuple(row[name] for name in NAMES) for row in table}) == 3


def test_one_task_exports_reloads_and_predicts(multitask_run, tmp_path, capsys):
    exported = tmp_path / "deconv.ckpt"
    main(["export", "--ckpt", str(multitask_run / "checkpoints" / "last.ckpt"), "--task",
          "deconv", "--output", str(exported)])  # fmt: skip
    assert "task deconv of" in capsys.readouterr().out
    multitask = load_checkpoint_task(multitask_run / "checkpoints" / "last.ckpt", MultiTask)
    alone = load_checkpoint_task(exported, DeconvolutionTask)
    image = torch.rand(2, 3, 32, 32)
    batch = {"image": image, "psf_fwhm": torch.ones(2)}
    torch.testing.assert_close(
        alone.predict_batch(dict(batch))["restored"],
        multitask.tasks["deconv"].predict_batch(dict(batch))["restored"],
    )
    out = tmp_path / "restored"
    main(["predict", *config_args("deconv"), "--ckpt_path", str(exported),
          "--trainer.default_root_dir", str(tmp_path / "predict"),
          "--trainer.callbacks.output_dir", str(out)])  # fmt: skip
    assert list(out.glob("*.fits"))
    with pytest.raises(SystemExit, match=r"--task 'galaxy': .* holds the tasks \['deconv'"):
        main(["export", "--ckpt", str(multitask_run / "checkpoints" / "last.ckpt"), "--task",
              "galaxy", "--output", str(tmp_path / "x.ckpt")])  # fmt: skip


def test_a_plugin_task_joins_the_mix(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN))
    overlay = tmp_path / "plugin.yaml"
    overlay.write_text(
        "model:\n  init_args:\n    names: [deconv, classify]\n    tasks:\n"
        "      - class_path: galvision_example_plugin.NonNegativeDeconvolutionTask\n"
        "        init_args: {negativity_weight: 2.0, head: {class_path: "
        "galvision_example_plugin.UpsamplingHead}}\n"
        "      - class_path: galvision.tasks.ClassificationTask\n"
        "        init_args: {num_classes: 10}\n"
        "data:\n  init_args:\n    datamodules:\n"
        f"      deconv: {CONF / 'tiny_survey.yaml'}\n"
        f"      classify: {CONF / 'tiny_morphology.yaml'}\n"
    )
    root = tmp_path / "run"
    main(["fit", *config_args("multitask"), "--config", str(overlay), "--trainer.max_steps", "4",
          "--trainer.default_root_dir", str(root)])  # fmt: skip
    multitask = load_checkpoint_task(root / "checkpoints" / "last.ckpt", MultiTask)
    assert type(multitask.tasks["deconv"]).__name__ == "NonNegativeDeconvolutionTask"
    assert logged(root, "val/deconv/psnr")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model.init_args.names", "[deconv, deconv, classify, lens]"],
         "two tasks log under 'deconv'; name them apart"),
        (["--model.init_args.tasks.1", "galvision.tasks.NoSuchTask"], "NoSuchTask"),
        (["--model.init_args.names", "[deconv, restore, classify, lens]"],
         r"data.datamodules are named \[.*\] but the tasks are"),
        (["--model.init_args.monitor_task", "galaxy"], "monitor_task='galaxy' is not one of"),
    ],
)  # fmt: skip
def test_bad_task_lists_are_one_line_errors(tmp_path, extra, message):
    with pytest.raises(SystemExit) as stopped:
        main(["fit", *config_args("multitask"), "--trainer.default_root_dir", str(tmp_path),
              *extra])  # fmt: skip
    text = str(stopped.value.code)
    assert re.search(message, text) and "\n" not in text.strip(), text


@pytest.mark.slow
def test_two_process_ddp_draws_the_same_task_on_every_rank(tmp_path):
    drawn = ("--config", str(DRAWN))
    result = two_process_fit(
        "multitask",
        tmp_path / "run",
        *drawn,
        "--trainer.strategy",
        "ddp_find_unused_parameters_true",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    checkpoint = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["global_step"] == 6
    assert np.isclose(sum(checkpoint["task_sampler"]["proportions"].values()), 1)
    refused = two_process_fit("multitask", tmp_path / "plain", *drawn)
    assert refused.returncode != 0
    assert any(
        line.startswith("galvision: error:") and "ddp_find_unused_parameters_true" in line
        for line in refused.stderr.splitlines()
    ), refused.stderr[-2000:]


def test_per_task_optimizer_state_steps_each_task_with_its_own_moments_and_resumes(
    tmp_path_factory,
):
    uniform = ("--config", str(DRAWN), "--model.init_args.sampler",
               "galvision.tasks.sampling.UniformSampler")  # fmt: skip
    root = fit_tiny(
        tmp_path_factory, "multitask", "per-task", "fit", *uniform,
        "--model.init_args.optimizer_state", "per_task",
    )  # fmt: skip
    last = str(root / "checkpoints" / "last.ckpt")
    resumed_root = fit_tiny(
        tmp_path_factory, "multitask", "per-task-resumed", "fit", *uniform,
        "--model.init_args.optimizer_state", "per_task", "--trainer.max_steps", "8",
        "--ckpt_path", last,
    )  # fmt: skip
    sampler = UniformSampler()
    sampler.start(NAMES)
    for run, least in [(root, 6), (resumed_root, 7)]:
        checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
        steps = checkpoint["global_step"]
        assert steps >= least
        inner = checkpoint["optimizer_states"][0]["inner"]
        assert list(inner) == NAMES
        draws = [sampler.draw(step) for step in range(steps)]
        for name, state in inner.items():
            counts = {int(entry["step"]) for entry in state["state"].values()}
            assert counts <= {draws.count(name)}, (name, counts, draws)
        stepped = [set(state["state"]) for state in inner.values() if state["state"]]
        assert set.intersection(*stepped)  # the shared backbone
        assert all(own - set.union(*(s for s in stepped if s is not own)) for own in stepped)


def own_parameters(multitask: MultiTask, name: str) -> list[torch.Tensor]:
    """Task ``name``'s norm offsets and adapter updates ``B``, where it has them."""
    found = []
    if multitask.task_norms is not None:
        found += list(multitask.task_norms.offsets[name])
    if multitask.task_adapters is not None:
        found += list(multitask.task_adapters.factors[name])[1::2]
    return found


@pytest.mark.parametrize(
    ("kwargs", "layers"),
    [({"task_norms": True}, 5), ({"adapter_rank": 2}, 8)],
    ids=["norms", "adapters"],
)
def test_own_parameters_start_shared_and_each_task_learns_its_own(
    tiny_backbone_kwargs, kwargs, layers
):
    # The tiny backbone's two blocks: their norms and the final one; their qkv, proj, fc1, fc2.
    multitask = tiny_multitask(tiny_backbone_kwargs, **kwargs)
    (conditioning,) = multitask.conditionings
    assert len(conditioning.paths) == layers
    image = torch.rand(2, 3, 32, 32)
    shared = multitask.backbone(image)
    with conditioning.use("classify"):
        torch.testing.assert_close(multitask.backbone(image), shared)  # zero at the start
    batch = {"image": image, "label": torch.tensor([0, 2])}
    multitask.compute({"classify": batch})["loss"].backward()
    own = {name: own_parameters(multitask, name) for name in multitask.names}
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in own["classify"])
    assert all(p.grad is None for name in ("deconv", "reconstruct") for p in own[name])
    with torch.no_grad():
        own["classify"][1].normal_()  # in the first or second layer, for classify only
    with conditioning.use("classify"):
        moved = multitask.backbone(image)
    assert not torch.allclose(moved, shared)
    torch.testing.assert_close(multitask.backbone(image), shared)
    with conditioning.use("deconv"):
        torch.testing.assert_close(multitask.backbone(image), shared)
    copied = copy.deepcopy(multitask)
    with copied.conditioned_on("classify"):
        torch.testing.assert_close(copied.backbone(image), moved)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"adapter_rank": -1}, r"model.adapter_rank=-1: give a rank of 1 or more"),
        ({"task_norms": True}, r"model.task_norms: the backbone .* has no LayerNorm"),
        ({"adapter_rank": 2}, r"model.adapter_rank: the backbone .* has no linear layer"),
    ],
)
def test_task_norms_and_adapters_need_their_layers(kwargs, message):
    tasks = [partial(ClassificationTask, num_classes=3)]
    backbone = ConvBackbone(name="resnet18", img_size=32)
    with pytest.raises(ConfigError, match=message):
        MultiTask(backbone, tasks, **kwargs)


@pytest.mark.parametrize(
    "options",
    [("--model.init_args.task_norms", "true"),
     ("--model.init_args.task_norms", "true", "--model.init_args.adapter_rank", "2")],
    ids=["norms", "norms-and-adapters"],
)  # fmt: skip
def test_a_task_with_its_own_parameters_exports_them_and_resumes(
    tmp_path_factory, tmp_path, options
):
    run = f"own-{len(options)}"
    root = fit_tiny(tmp_path_factory, "multitask", run, "fit", *options)
    last = root / "checkpoints" / "last.ckpt"
    multitask = load_checkpoint_task(last, MultiTask)
    for name in NAMES:
        assert all(p.abs().sum() > 0 for p in own_parameters(multitask, name)), name
    exported = tmp_path / "classify.ckpt"
    main(["export", "--ckpt", str(last), "--task", "classify", "--output", str(exported)])
    alone = load_checkpoint_task(exported, ClassificationTask)
    image = torch.rand(2, 3, 32, 32)
    with multitask.conditioned_on("classify"):
        expected = multitask.tasks["classify"].predict_batch({"image": image})["probabilities"]
    torch.testing.assert_close(alone.predict_batch({"image": image})["probabilities"], expected)
    resumed = fit_tiny(
        tmp_path_factory, "multitask", f"{run}-resumed", "fit", *options,
        "--trainer.max_steps", "8", "--ckpt_path", str(last),
    )  # fmt: skip
    assert torch.load(resumed / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] > 6


def learning_rates(cli) -> tuple[float, float, float]:
    """The optimizer's rates of the first and last backbone block and the slowest head."""
    optimizer = cli.model.configure_optimizers()["optimizer"]
    rate = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    backbone = cli.model.backbone
    first, last = (next(iter(backbone.model.blocks[k].parameters())) for k in (0, -1))
    heads = [p for n, p in cli.model.named_parameters() if "head" in n and "backbone" not in n]
    assert heads
    return rate[id(first)], rate[id(last)], min(rate[id(p)] for p in heads)


def test_the_shipped_multitask_slows_the_backbone_not_the_heads(tmp_path):
    first, last, head = learning_rates(configure(task_config("multitask"), tmp_path, 2, 0, []))
    assert first < last <= head


def test_the_no_decay_overlay_gives_every_block_the_heads_rate(tmp_path):
    overlay = REPO / "configs" / "overlays" / "multitask_no_layer_decay.yaml"
    cli = configure([*task_config("multitask"), overlay], tmp_path, 2, 0, [])
    first, last, head = learning_rates(cli)
    assert first == last == head


def test_the_drawn_active_floor_and_its_low_floor_overlay(tmp_path):
    drawn = [*task_config("multitask"), DRAWN]
    shipped = configure(drawn, tmp_path / "a", 2, 0, []).model.sampler
    overlay = REPO / "configs" / "overlays" / "multitask_low_floor.yaml"
    low = configure([*drawn, overlay], tmp_path / "b", 2, 0, []).model.sampler
    assert isinstance(shipped, ActiveSampler) and isinstance(low, ActiveSampler)
    assert (shipped.floor, low.floor) == (0.15, 0.05)
    assert (shipped.temperature, shipped.momentum) == (low.temperature, low.momentum)
