"""Checks of a parsed ``galvision`` command, made before any work starts."""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import yaml
from lightning.pytorch.callbacks import BasePredictionWriter, ModelCheckpoint

from galvision.checkpoints import (
    checkpoint_class,
    import_class,
    read_checkpoint,
    readable_sibling,
)
from galvision.errors import CheckpointError, ConfigError
from galvision.folders import check_writable

CHECKPOINT_ALIASES = {"last", "best", "hpc", "registry"}
EVALUATING = ("validate", "test", "predict")
UNTRAINED = "untrained"
UNTRAINED_HELP = "run without --ckpt_path or backbone weights, that is with an untrained model"
YAML_SUFFIXES = (".yaml", ".yml")


def check_config_files(args: Sequence[str]) -> None:
    """Refuse a config file that is missing, empty or not YAML, naming the file and the reason."""
    for option, value in _config_arguments(args):
        if not Path(value).is_file():
            if _is_inline(value):
                continue
            raise ConfigError(f"{option} {value}: no such config file")
        try:
            # Composing checks the syntax without building values, so YAML tags pass.
            node = yaml.compose(Path(value).read_text(), Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = error.problem or error.context or "unknown problem"
            raise ConfigError(f"{value}: malformed YAML{where}: {problem}") from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise ConfigError(f"{value}: unreadable config file ({error})") from None
        if node is None:
            raise ConfigError(f"{value}: empty config file")
        if option == "--config" and not isinstance(node, yaml.MappingNode):
            raise ConfigError(f"{value}: a config file maps keys to values, this one does not")


def _is_inline(value: str) -> bool:
    """Whether a --config value is YAML or JSON text rather than a file name."""
    return "\n" in value or value.lstrip().startswith(("{", "[")) or ": " in value


def _config_arguments(args: Sequence[str]) -> Iterator[tuple[str, str]]:
    """(option, file) of every --config and of every option given a .yaml/.yml file."""
    for i, token in enumerate(args):
        option, equals, value = token.partition("=")
        if not option.startswith("--"):
            continue
        if not equals:
            value = args[i + 1] if i + 1 < len(args) else ""
        if (option == "--config" and value) or (
            value.endswith(YAML_SUFFIXES) and Path(value).is_file()
        ):
            yield option, value


def interpolation_message(error: Exception) -> str:
    """One line naming the key whose ``${...}`` interpolation failed, and why."""
    key = str(getattr(error, "full_key", "") or "").partition(".")[2]
    reason = (str(getattr(error, "msg", "") or error).splitlines() or [type(error).__name__])[0]
    # Parsing makes interpolations relative: the user wrote '..model.x' as 'model.x'.
    reason = re.sub(r"'\.+", "'", reason)
    return f"{key}: {reason}" if key else reason


def missing_class_message(module: str, name: str) -> str:
    """That ``module`` has no class ``name``, with the closest name it has."""
    try:
        names = [n for n in dir(importlib.import_module(module)) if not n.startswith("_")]
    except ImportError:
        names = []
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {module}.{close[0]}?" if close else ""
    return f"no class {name} in {module}{hint}"


def check_checkpoint_path(config: Any) -> None:
    """Refuse a --ckpt_path file that cannot be read, or of another task than the config's."""
    ckpt_path = config.get("ckpt_path")
    if not ckpt_path or ckpt_path in CHECKPOINT_ALIASES:
        return
    check_readable(ckpt_path)
    configured = config.get("model", {}).get("class_path")
    if configured:
        # Lightning would otherwise build the checkpoint's class in place of the configured one.
        checkpoint_class(ckpt_path, "model", import_class(configured), "the config (model)")


def check_readable(ckpt: str | Path, option: str = "--ckpt_path") -> None:
    """Refuse an unreadable checkpoint, naming a readable older one of its folder if any."""
    try:
        read_checkpoint(ckpt, option)
    except CheckpointError as error:
        older = readable_sibling(ckpt) if Path(ckpt).is_file() else None
        if older is None:
            raise
        raise CheckpointError(f"{error}; an older checkpoint reads fine: {older}") from None


def check_last_checkpoint(trainer: L.Trainer) -> None:
    """Refuse to resume (--ckpt_path last) from a last checkpoint that cannot be read."""
    candidates = [
        Path(path)
        for callback in trainer.checkpoint_callbacks
        if isinstance(callback, ModelCheckpoint)
        for path in callback._find_last_checkpoints(trainer)
    ]
    if candidates:
        # The newest, as Lightning picks it.
        check_readable(max(candidates, key=lambda p: p.stat().st_mtime), "--ckpt_path last")


def check_trained(subcommand: str, config: Any) -> None:
    """Refuse to evaluate or predict with a model that no checkpoint or weights trained."""
    if subcommand not in EVALUATING or config.get("ckpt_path") or config.get(UNTRAINED):
        return
    model = config.get("model")
    items = model.items() if hasattr(model, "items") else []
    if any(key.rpartition(".")[2] == "weights" and value for key, value in items):
        return
    raise ConfigError(
        f"{subcommand}: no --ckpt_path and no backbone weights, so the model is untrained; "
        f"pass --ckpt_path <checkpoint of `galvision fit`> (or --{UNTRAINED} true to run it "
        "untrained)"
    )


def check_output_folders(subcommand: str, trainer: L.Trainer) -> None:
    """Refuse folders the command writes to (logs, checkpoints, predictions) if unwritable."""
    for what, folder in _output_folders(subcommand, trainer):
        if folder and "://" not in str(folder):
            check_writable(folder, what)


def _output_folders(subcommand: str, trainer: L.Trainer) -> Iterator[tuple[str, Any]]:
    yield "trainer.default_root_dir", trainer.default_root_dir
    for logger in trainer.loggers:
        yield f"{type(logger).__name__} save_dir", getattr(logger, "save_dir", None)
    for callback in trainer.callbacks:
        name = type(callback).__name__
        if subcommand == "fit" and isinstance(callback, ModelCheckpoint):
            yield f"{name} dirpath", callback.dirpath
        if subcommand == "predict" and isinstance(callback, BasePredictionWriter):
            yield f"{name} output_dir", getattr(callback, "output_dir", None)
