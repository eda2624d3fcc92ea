"""The trained rows of ``galvision benchmark multitask``: one config, one step budget, each seed.

- ``frozen``: the foundation only, its backbone frozen, the heads trained together;
- ``single``: each task alone on its own (a MultiTask of one task, so head, transforms, loss
  and data are the same), the budget split evenly between them;
- ``uniform``, ``active``: all tasks together, drawn uniformly or by the active sampler;
- ``uncertainty``: drawn uniformly, their losses weighted by learned uncertainties;
- ``per_task``: drawn uniformly, the optimizer's moments kept per task;
- ``task_norms``: drawn uniformly, each task with its own offsets to the backbone's norms;
- ``adapters``: drawn uniformly, each task with its own low-rank updates of the backbone.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from galvision.benchmark.training import LAST, configure, resumable_run
from galvision.errors import ConfigError

UNIFORM = ("--model.init_args.sampler", "galvision.tasks.sampling.UniformSampler")
ACTIVE = ("--model.init_args.sampler", "galvision.tasks.sampling.ActiveSampler")
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
    "uniform": Variant("uniform", "multi-task, uniform", UNIFORM),
    "active": Variant("active", "multi-task, active", ACTIVE),
    "uncertainty": Variant(
        "uncertainty weighting",
        "multi-task, uniform + uncertainty weighting",
        (*UNIFORM, "--model.init_args.loss_weighting", "uncertainty"),
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
}


# The rows a benchmark trains unless --rows names others.
DEFAULT_ROWS = ("frozen", "single", "uniform", "active", "uncertainty")


@dataclass
class Run:
    """One finished training run: its checkpoint, its test metrics, the tasks it learned."""

    checkpoint: Path
    metrics: dict[str, float]
    tasks: list[str]


def budget(steps: int, args: argparse.Namespace) -> list[str]:
    """``steps`` steps, validated (and the active proportions re-estimated) ``--updates`` times,
    tested on ``--test-batches`` batches of each task (all when None)."""
    every = max(steps // args.updates, 1)
    tested = (
        []
        if args.test_batches is None
        else ["--trainer.limit_test_batches", str(args.test_batches)]
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


def single_task_config(args: argparse.Namespace, name: str, run_dir: Path) -> Path:
    """The config with only task ``name`` and its data, resolved into ``run_dir/task.yaml``."""
    cli = configure(args.config, run_dir, None, 0, [])
    config = cli.config
    position = cli.model.names.index(name)
    model, data = config.model.init_args, config.data.init_args
    model.tasks = [model.tasks[position]]
    model.names, model.monitor_task = [name], name
    data.datamodules = {name: data.datamodules[name]}
    for callback in config.trainer.callbacks or []:
        settings = callback.get("init_args")
        if settings is not None and settings.get("monitor") == cli.model.monitor[0]:
            settings.monitor = settings.filename = None  # refilled: this task's own metric
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "task.yaml"
    path.write_text(cli.parser.dump(config, skip_validation=True))
    return path


def train_variant(args: argparse.Namespace, key: str, seed: int) -> list[Run]:
    """The runs of one row and seed (one, or one per task for ``single``)."""
    folder = args.output / "multitask-runs"
    shared = common_arguments(args)
    if key != "single":
        run_dir = folder / f"{key}-seed{seed}"
        extra = [*budget(args.steps, args), *shared, *VARIANTS[key].arguments]
        metrics = resumable_run(args.config, run_dir, None, seed, extra)
        return [Run(run_dir / LAST, metrics, task_names(args))]
    names = task_names(args)
    if args.steps < len(names):
        raise ConfigError(f"--steps {args.steps}: fewer than one step per task ({len(names)})")
    runs = []
    for name in names:
        run_dir = folder / f"single-{name}-seed{seed}"
        config = single_task_config(args, name, run_dir)
        steps = args.steps // len(names)
        extra = [*budget(steps, args), *shared, *UNIFORM]
        runs.append(Run(run_dir / LAST, resumable_run(config, run_dir, None, seed, extra), [name]))
    return runs
