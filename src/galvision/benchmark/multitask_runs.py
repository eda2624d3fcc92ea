"""The trained rows of ``galvision benchmark multitask``: one config, one step budget, each seed.

- ``frozen``: the foundation only, its backbone frozen, the heads trained together;
- ``single``: each task alone on its own (a MultiTask of one task, so head, transforms, loss
  and data are the same), the budget split evenly between them;
- ``single_small``: each task alone for every step of the budget, on ``1/n`` of its batch for
  ``n`` tasks: the data and compute of ``single``, the updates of the every-task rows;
- ``uniform``, ``active``: all tasks together, drawn uniformly or by the active sampler;
- ``progress``: drawn toward the tasks whose validation loss changes most (``ProgressSampler``);
- ``target``: drawn by active sampling toward targets (``TargetSampler``), each task's target
  the validation loss its single-task run of the same seed ends at;
- ``uncertainty``: drawn uniformly, their losses weighted by learned uncertainties;
- ``active_uncertainty``: drawn by the active sampler, their losses weighted likewise;
- ``per_task``: drawn uniformly, the optimizer's moments kept per task;
- ``task_norms``: drawn uniformly, each task with its own offsets to the backbone's norms;
- ``adapters``: drawn uniformly, each task with its own low-rank updates of the backbone;
- ``mixed``, ``mixed_active``: every task each step, on equal shares of the step or on the
  shares the active sampler gives;
- ``mixed_uncertainty``: every task each step on equal shares, their losses weighted by learned
  uncertainties;
- ``mixed_active_uncertainty``, ``mixed_progress_uncertainty``: every task each step on the
  shares the active or the progress sampler gives, their losses weighted by learned
  uncertainties;
- ``mixed_upgrad``, ``mixed_pcgrad``: every task each step on equal shares, the tasks'
  gradients on the backbone combined by UPGrad or PCGrad (torchjd) rather than summed.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from galvision.benchmark.training import LAST, configure, resumable_run
from galvision.errors import ConfigError

UNIFORM = ("--model.init_args.sampler", "galvision.tasks.sampling.UniformSampler")
UNCERTAINTY = ("--model.init_args.loss_weighting", "uncertainty")
ACTIVE = ("--model.init_args.sampler", "galvision.tasks.sampling.ActiveSampler")
PROGRESS = ("--model.init_args.sampler", "galvision.tasks.sampling.ProgressSampler")
TARGET = ("--model.init_args.sampler", "galvision.tasks.sampling.TargetSampler")
MIXED = ("--model.init_args.tasks_per_step", "all")
# Tasks never below their equal share, 1/4 of each step: active shares then move only the
# other tasks' steps.
TASK_FLOORS = "--model.init_args.sampler.init_args.task_floors"
DECONV_FLOOR = (TASK_FLOORS, "{deconv: 0.25}")
DECONV_CLASSIFY_FLOOR = (TASK_FLOORS, "{deconv: 0.25, classify: 0.25}")
AGGREGATOR = "--model.init_args.gradient_aggregator"
TARGET_TEMPERATURE = 0.1
VALIDATION_FILE = "validation_loss.json"  # a single-task run's final validation loss
ADAPTER_RANK = 8


@dataclass(frozen=True)
class Variant:
    """A trained row: its short name, its label and the arguments that make it."""

    short: str
    label: str
    arguments: tuple[str, ...] = ()


VARIANTS = {
    "frozen": Variant(
        "foundation only",
        "foundation only (backbone frozen, heads trained)",
        (*UNIFORM, "--model.init_args.freeze_backbone", "true"),
    ),
    "single": Variant("single-task", "single-task fine-tuned (budget split between tasks)"),
    "single_small": Variant(
        "single-task, small batches",
        "single-task fine-tuned, every step on a 1/n batch (budget split between tasks)",
    ),
    "uniform": Variant("uniform", "multi-task, uniform", UNIFORM),
    "active": Variant("active", "multi-task, active", ACTIVE),
    "progress": Variant(
        "active by progress", "multi-task, active toward learning progress", PROGRESS
    ),
    "target": Variant(
        "active toward single-task",
        "multi-task, active toward the single-task losses",
        (*TARGET, "--model.init_args.sampler.init_args.temperature", str(TARGET_TEMPERATURE)),
    ),
    "uncertainty": Variant(
        "uncertainty weighting",
        "multi-task, uniform + uncertainty weighting",
        (*UNIFORM, *UNCERTAINTY),
    ),
    "active_uncertainty": Variant(
        "active + uncertainty weighting",
        "multi-task, active + uncertainty weighting",
        (*ACTIVE, *UNCERTAINTY),
    ),
    "per_task": Variant(
        "optimizer state per task",
        "multi-task, uniform, optimizer state per task",
        (*UNIFORM, "--model.init_args.optimizer_state", "per_task"),
    ),
    "task_norms": Variant(
        "norm offsets per task",
        "multi-task, uniform, LayerNorm offsets per task",
        (*UNIFORM, "--model.init_args.task_norms", "true"),
    ),
    "adapters": Variant(
        "adapters per task",
        f"multi-task, uniform, rank-{ADAPTER_RANK} adapters per task",
        (*UNIFORM, "--model.init_args.adapter_rank", str(ADAPTER_RANK)),
    ),
    "mixed": Variant(
        "every task each step", "multi-task, every task each step, equal shares", (*UNIFORM, *MIXED)
    ),
    "mixed_active": Variant(
        "every task each step, active shares",
        "multi-task, every task each step, active shares",
        (*ACTIVE, *MIXED),
    ),
    "mixed_uncertainty": Variant(
        "every task each step, uncertainty weighting",
        "multi-task, every task each step, equal shares + uncertainty weighting",
        (*UNIFORM, *MIXED, *UNCERTAINTY),
    ),
    "mixed_active_uncertainty": Variant(
        "every task each step, active shares, uncertainty weighting",
        "multi-task, every task each step, active shares + uncertainty weighting",
        (*ACTIVE, *MIXED, *UNCERTAINTY),
    ),
    "mixed_active_uncertainty_deconv_floor": Variant(
        "every task each step, active shares, deconvolution ≥ 1/4, uncertainty weighting",
        "multi-task, every task each step, active shares with deconvolution at 1/4 or more + "
        "uncertainty weighting",
        (*ACTIVE, *MIXED, *UNCERTAINTY, *DECONV_FLOOR),
    ),
    "mixed_active_uncertainty_deconv_classify_floor": Variant(
        "every task each step, active shares, deconvolution and morphology ≥ 1/4, uncertainty "
        "weighting",
        "multi-task, every task each step, active shares with deconvolution and morphology at "
        "1/4 or more + uncertainty weighting",
        (*ACTIVE, *MIXED, *UNCERTAINTY, *DECONV_CLASSIFY_FLOOR),
    ),
    "mixed_progress_uncertainty": Variant(
        "every task each step, progress shares, uncertainty weighting",
        "multi-task, every task each step, shares toward learning progress + uncertainty weighting",
        (*PROGRESS, *MIXED, *UNCERTAINTY),
    ),
    "mixed_upgrad": Variant(
        "every task each step, UPGrad",
        "multi-task, every task each step, gradients combined by UPGrad",
        (*UNIFORM, *MIXED, AGGREGATOR, "torchjd.aggregation.UPGrad"),
    ),
    "mixed_pcgrad": Variant(
        "every task each step, PCGrad",
        "multi-task, every task each step, gradients combined by PCGrad",
        (*UNIFORM, *MIXED, AGGREGATOR, "torchjd.aggregation.PCGrad"),
    ),
}


# The rows a benchmark trains unless --rows names others.
DEFAULT_ROWS = ("frozen", "single", "uniform", "active", "uncertainty")


@dataclass
class Run:
    """One finished training run: its checkpoint, its test metrics, the tasks it learned."""

    checkpoint: Path
    metrics: dict[str, float]
    tasks: list[str]


def budget(steps: int, args: argparse.Namespace, shrink: int = 1) -> list[str]:
    """``steps`` steps, validated (and the active proportions re-estimated) ``--updates`` times,
    tested on ``--test-batches`` batches of each task (all when None), each ``shrink`` times
    smaller (so as many times more of them)."""
    every = max(steps // args.updates, 1)
    tested = (
        []
        if args.test_batches is None
        else ["--trainer.limit_test_batches", str(args.test_batches * shrink)]
    )
    schedule = ["--model.init_args.lr_scheduler.init_args.total_steps", str(steps)]
    return ["--trainer.max_steps", str(steps), "--trainer.val_check_interval", str(every),
            "--trainer.check_val_every_n_epoch", "null", *schedule, *tested]  # fmt: skip


def common_arguments(args: argparse.Namespace) -> list[str]:
    """What every trained row shares: the foundation it starts from."""
    if args.foundation is None:
        return []
    return ["--model.init_args.backbone.init_args.weights", str(args.foundation)]


def task_names(args: argparse.Namespace) -> list[str]:
    """The tasks of the config, in order."""
    return configure(args.config, args.output / "multitask-runs" / "probe", None, 0, []).model.names


def single_task_config(args: argparse.Namespace, name: str, run_dir: Path, shrink: int = 1) -> Path:
    """The config with only task ``name`` and its data, its batches ``shrink`` times smaller,
    resolved into ``run_dir/task.yaml``."""
    cli = configure(args.config, run_dir, None, 0, [])
    config = cli.config
    position = cli.model.names.index(name)
    model, data = config.model.init_args, config.data.init_args
    model.tasks = [model.tasks[position]]
    model.names, model.monitor_task = [name], name
    data.datamodules = {name: data.datamodules[name]}
    if shrink > 1:
        data.datamodules[name].init_args.batch_size //= shrink
    for callback in config.trainer.callbacks or []:
        settings = callback.get("init_args")
        if settings is not None and settings.get("monitor") == cli.model.monitor[0]:
            settings.monitor = settings.filename = None  # refilled: this task's own metric
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "task.yaml"
    path.write_text(cli.parser.dump(config, skip_validation=True))
    return path


def run_folder(output: Path, name: str, seed: int) -> Path:
    """Where the run of row (or single-task run) ``name`` from ``seed`` keeps its checkpoints,
    logs and result."""
    return output / "multitask-runs" / f"{name}-seed{seed}"


def train_variant(args: argparse.Namespace, key: str, seed: int) -> list[Run]:
    """The runs of one row and seed (one, or one per task for ``single``)."""
    if key in ("single", "single_small"):
        return [run for _, run in single_runs(args, seed, small=key == "single_small")]
    run_dir = run_folder(args.output, key, seed)
    extra = [*budget(args.steps, args), *common_arguments(args), *VARIANTS[key].arguments]
    if key == "target":
        extra += ["--model.init_args.sampler.init_args.targets", json.dumps(targets(args, seed))]
    metrics = resumable_run(args.config, run_dir, None, seed, extra)
    return [Run(run_dir / LAST, metrics, task_names(args))]


def single_runs(
    args: argparse.Namespace, seed: int, small: bool = False
) -> Iterator[tuple[SingleRun, Run]]:
    """Each task trained alone from ``seed`` (trained or read back): on its share of the
    budget, or, ``small``, on every step of it with its batch split as the tasks share it."""
    names = task_names(args)
    if args.steps < len(names):
        raise ConfigError(f"--steps {args.steps}: fewer than one step per task ({len(names)})")
    shrink = len(names) if small else 1
    for name in names:
        run_dir = run_folder(args.output, f"single{'_small' * small}-{name}", seed)
        config = single_task_config(args, name, run_dir, shrink)
        steps = args.steps // len(names) * shrink
        extra = [*budget(steps, args, shrink), *common_arguments(args), *UNIFORM]
        single = SingleRun(name, config, run_dir, tuple(extra))
        yield single, Run(run_dir / LAST, resumable_run(config, run_dir, None, seed, extra), [name])


def targets(args: argparse.Namespace, seed: int) -> dict[str, float]:
    """The ``target`` row's targets: each task's validation loss at the end of its single-task
    run of ``seed`` (trained first where it is not yet), to three significant figures."""
    # Rounded because a target is a setting of the run: the last digits of a validation loss
    # change with the number of threads, and would make a finished run look unfinished.
    found = {single.name: single.validation_loss(seed) for single, _ in single_runs(args, seed)}
    return {name: float(f"{loss:.3g}") for name, loss in found.items()}


@dataclass(frozen=True)
class SingleRun:
    """Where and how one task is trained alone."""

    name: str
    config: Path
    run_dir: Path
    extra: tuple[str, ...]

    def validation_loss(self, seed: int) -> float:
        """The task's validation loss with the run's final weights, kept beside them so that a
        benchmark read back does not validate again."""
        checkpoint = self.run_dir / LAST
        kept = self.run_dir / VALIDATION_FILE
        weights = checkpoint.stat().st_mtime_ns
        if kept.is_file():
            stored = json.loads(kept.read_text())
            if stored.get("weights") == weights:
                return stored["loss"]
        quiet = [*self.extra, "--trainer.logger", "false", "--trainer.enable_progress_bar", "false"]
        cli = configure(self.config, self.run_dir, None, seed, quiet)
        found = cli.trainer.validate(
            cli.model, datamodule=cli.datamodule, ckpt_path=checkpoint, verbose=False
        )
        loss = float(found[0][f"val/{self.name}/loss"])
        kept.write_text(json.dumps({"weights": weights, "loss": loss}))
        return loss
