"""Rebuild the task and datamodule a `galvision fit` checkpoint was trained with."""

from __future__ import annotations

import importlib
import zipfile
from pathlib import Path
from typing import TypeVar

import torch

from galvision.errors import CheckpointError

T = TypeVar("T")
_SECTIONS = {"model": "hyper_parameters", "data": "datamodule_hyper_parameters"}


def read_checkpoint(ckpt: str | Path, option: str = "") -> dict:
    """A Lightning checkpoint's contents, tensors mapped from the file; unreadable files refused.

    Args:
        ckpt: the checkpoint file.
        option: the command-line option that named it, to start the messages with.
    """
    path, label = Path(ckpt), f"{option}: " if option else ""
    if not path.is_file():
        raise CheckpointError(f"{label}no such checkpoint file {path}")
    # A checkpoint is a zip archive whose directory is at its end: this catches empty, text
    # and truncated files before torch.load turns them into EOFError or KeyError tracebacks.
    if path.stat().st_size == 0 or not zipfile.is_zipfile(path):
        raise CheckpointError(f"{label}{path}: {_unreadable_reason(path)}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:  # damaged archives fail in many ways
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"{label}{path}: unreadable checkpoint ({reason})") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{label}{path}: not a checkpoint written by `galvision fit`")
    return checkpoint


def _unreadable_reason(path: Path) -> str:
    if path.stat().st_size == 0:
        return "empty file, not a checkpoint"
    return "truncated or not a checkpoint (no zip directory at its end)"


def readable_sibling(ckpt: str | Path) -> Path | None:
    """The newest other readable checkpoint in the folder of ``ckpt``, or None."""
    others = sorted(
        (p for p in Path(ckpt).parent.glob("*.ckpt") if p.name != Path(ckpt).name),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for other in others:
        try:
            read_checkpoint(other)
        except CheckpointError:
            continue
        return other
    return None


def _hyperparameters(ckpt: Path, section: str) -> dict:
    """The hyperparameters a checkpoint records for ``section`` ("model" or "data")."""
    return read_checkpoint(ckpt).get(_SECTIONS[section], {})


def import_class(class_path: str) -> type:
    """The class at a dotted ``class_path``."""
    module, _, name = class_path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def checkpoint_class(
    ckpt: Path, section: str, base: type[T], expected_by: str = "this command"
) -> type[T]:
    """The class recorded for ``section`` ("model" or "data"), refused unless a ``base``.

    ``expected_by`` says who expects a ``base`` in the message, e.g. "--pretrained".
    """
    class_path = _hyperparameters(ckpt, section).get("_class_path")
    if class_path is None:
        raise CheckpointError(
            f"{ckpt}: no {section} class recorded; use a checkpoint written by `galvision fit`"
        )
    try:
        cls = import_class(class_path)
    except (ImportError, AttributeError) as error:
        raise CheckpointError(
            f"{ckpt}: its {section} {class_path} cannot be imported ({error})"
        ) from None
    if not issubclass(cls, base):
        raise CheckpointError(
            f"{ckpt}: a {cls.__name__} checkpoint, where {expected_by} expects a {base.__name__}"
        )
    return cls


def checked_checkpoint(ckpt: Path, base: type, option: str) -> Path:
    """``ckpt`` resolved, once it reads as a checkpoint of a ``base`` task (for ``option``)."""
    path = Path(ckpt).resolve()
    read_checkpoint(path, option)
    checkpoint_class(path, "model", base, expected_by=option)
    return path


def load_checkpoint_task(ckpt: Path, base: type[T]) -> T:
    """The LightningModule of a checkpoint, with its weights, in eval mode on the CPU."""
    cls = checkpoint_class(ckpt, "model", base)
    return cls.load_from_checkpoint(ckpt, map_location="cpu").eval()


def load_checkpoint_data(ckpt: Path, base: type[T]) -> T:
    """The LightningDataModule a checkpoint was trained with, as it was configured."""
    return checkpoint_class(ckpt, "data", base).load_from_checkpoint(ckpt, map_location="cpu")
