"""Training runs inside benchmarks: one task config, a fixed budget, results kept for resuming."""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from lightning.pytorch import seed_everything

from galvision import api
from galvision.cli import GalvisionCLI
from galvision.errors import ConfigError, GalvisionError

# A task config: one YAML file, or several applied in order (a task and an overlay).
ConfigFiles = Path | Sequence[Path]
RESULT_FILE = "result.json"
LAST = Path("checkpoints") / "last.ckpt"  # a run's final weights, beside its result


@dataclass(frozen=True)
class Method:
    """One compared model: its name, how it is trained, its command-line arguments."""

    key: str
    name: str
    training: str
    arguments: tuple[str, ...]


def configure(
    config: ConfigFiles, run_dir: Path, steps: int | None, seed: int, extra: list[str]
) -> GalvisionCLI:
    """Task, data and trainer of one run (see :func:`run_arguments`)."""
    return GalvisionCLI(args=run_arguments(config, run_dir, steps, seed, extra), run=False)


def run_arguments(
    config: ConfigFiles, run_dir: Path, steps: int | None, seed: int, extra: list[str]
) -> list[str]:
    """Arguments of one run: ``steps`` steps validated once at the end, or the config's own."""
    budget = (
        []
        if steps is None
        else [
            "--trainer.max_steps",
            str(steps),
            "--trainer.val_check_interval",
            str(steps),
            "--trainer.check_val_every_n_epoch",
            "null",
        ]
    )
    return [
        *config_arguments(config),
        "--seed_everything",
        str(seed),
        "--trainer.default_root_dir",
        str(run_dir),
        *budget,
        *extra,
    ]


def config_arguments(config: ConfigFiles) -> list[str]:
    """``--config FILE`` for every file of a task config, in order."""
    files = [config] if isinstance(config, str | Path) else list(config)
    return [argument for file in files for argument in ("--config", str(file))]


def describe_config(config: ConfigFiles) -> str:
    """The files of a task config as one name for reports."""
    return " + ".join(argument for argument in config_arguments(config)[1::2])


def add_config_argument(
    parser: argparse.ArgumentParser,
    default: str | Sequence[str],
    what: str,
    flag: str = "--config",
) -> None:
    """A task-config option: one YAML file or several applied in order (task, overlay)."""
    defaults = [default] if isinstance(default, str) else list(default)
    parser.add_argument(
        flag,
        type=Path,
        nargs="+",
        default=[Path(path) for path in defaults],
        help=f"{what} (several files apply in order)",
    )


def fit_and_test(cli: GalvisionCLI, seed: int) -> dict[str, float]:
    """Train the configured task from ``seed`` (the same batches for every variant); test it."""
    seed_everything(seed, workers=True)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    per_loader = cli.trainer.test(cli.model, datamodule=cli.datamodule, verbose=False)
    return {name: float(value) for metrics in per_loader for name, value in metrics.items()}


def resumable_run(
    config: ConfigFiles, run_dir: Path, steps: int | None, seed: int, extra: list[str]
) -> dict[str, float]:
    """Test metrics of one run, trained now or read back from an earlier identical run.

    A finished run leaves ``result.json`` (its arguments, a digest of its whole resolved
    configuration and its metrics) beside its checkpoints, so an interrupted benchmark starts
    again where it stopped, and a run whose config files changed since is trained again. The
    digest decides: the same configuration reached through other files or arguments (an
    overlay restating what a task config used to say) is the same run.
    """
    arguments = run_arguments(config, run_dir, steps, seed, extra)
    cli = configure(config, run_dir, steps, seed, extra)
    digest = configuration_digest(cli)
    result = run_dir / RESULT_FILE
    stored = json.loads(result.read_text()) if result.is_file() else None
    if stored is not None and same_run(stored, arguments, digest):
        return stored["metrics"]
    metrics = fit_and_test(cli, seed)
    written = {"arguments": arguments, "configuration": digest, "metrics": metrics}
    run_dir.mkdir(parents=True, exist_ok=True)
    result.write_text(json.dumps(written, indent=1))
    return metrics


def same_run(stored: dict, arguments: list[str], digest: str) -> bool:
    """Whether a stored result is of the run now configured: by its configuration digest, or
    by its arguments where it was written before digests were kept."""
    if "configuration" in stored:
        return stored["configuration"] == digest
    return stored.get("arguments") == arguments


def configuration_digest(cli: GalvisionCLI) -> str:
    """Short sha256 of a run's resolved configuration, every included file's values in it.

    Arguments a task gained later (its ``later_arguments``) count only when they differ from
    their default, so runs made before they existed keep their digests.
    """
    config = cli.config.clone()
    model = config.get("model")
    task_class = type(cli.model)
    defaults = inspect.signature(task_class.__init__).parameters
    for name in getattr(task_class, "later_arguments", ()):
        if model is not None and model.init_args.get(name) == defaults[name].default:
            del model.init_args[name]
    text = cli.parser.dump(config, skip_validation=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def loaded_backbone(option: str, source: str) -> torch.nn.Module:
    """The backbone ``source`` names (``api.load_backbone``), or one line naming ``option``."""
    try:
        return api.load_backbone(source)
    except GalvisionError as error:
        raise ConfigError(f"{option}: {error}") from None
