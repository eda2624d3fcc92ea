"""Rebuild the task and datamodule a `galvision fit` checkpoint was trained with."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TypeVar

import torch

from galvision.errors import CheckpointError

T = TypeVar("T")
_SECTIONS = {"model": "hyper_parameters", "data": "datamodule_hyper_parameters"}


def _hyperparameters(ckpt: Path, section: str) -> dict:
    """The hyperparameters a checkpoint records for ``section`` ("model" or "data")."""
    if not Path(ckpt).is_file():
        raise CheckpointError(f"no such checkpoint file {ckpt}")
    try:
        checkpoint = torch.load(ckpt, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated or foreign files fail in many ways
        raise CheckpointError(f"{ckpt}: cannot read the checkpoint: {error}") from error
    return checkpoint.get(_SECTIONS[section], {})


def checkpoint_class(ckpt: Path, section: str, base: type[T]) -> type[T]:
    """The class recorded for ``section`` ("model" or "data") in a checkpoint's hyperparameters."""
    class_path = _hyperparameters(ckpt, section).get("_class_path")
    if class_path is None:
        raise CheckpointError(
            f"{ckpt}: no {section} class recorded; use a checkpoint written by `galvision fit`"
        )
    module, _, name = class_path.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    if not issubclass(cls, base):
        raise CheckpointError(f"{ckpt}: {class_path} is not a {base.__name__}")
    return cls


def load_checkpoint_task(ckpt: Path, base: type[T]) -> T:
    """The LightningModule of a checkpoint, with its weights, in eval mode on the CPU."""
    cls = checkpoint_class(ckpt, "model", base)
    return cls.load_from_checkpoint(ckpt, map_location="cpu").eval()


def load_checkpoint_data(ckpt: Path, base: type[T]) -> T:
    """The LightningDataModule a checkpoint was trained with, as it was configured."""
    return checkpoint_class(ckpt, "data", base).load_from_checkpoint(ckpt, map_location="cpu")
