"""Checks of a parsed ``galvision`` command, made before any work starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning as L
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
