"""What every galvision prediction writer shares: atomic files, names, batch-or-epoch dispatch."""

from __future__ import annotations

import csv
from abc import abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import BasePredictionWriter

from galvision.data.keys import INDEX, NAME
from galvision.errors import ConfigError
from galvision.folders import atomic_path

PREVIEW_SIZE = 256  # pixels per panel side, so 64-pixel stamps are not thumbnails
MANIFEST_COLUMNS = ("output", "source")


def fits_text(value: str) -> str:
    """``value`` as a FITS header string, which must be ASCII: other characters escaped."""
    return value.encode("ascii", "backslashreplace").decode("ascii")


def write_manifest(path: Path, rows: Sequence[tuple[str, str]]) -> None:
    """Write which output file came from which input as ``output,source`` CSV rows."""
    with atomic_path(path) as tmp, tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MANIFEST_COLUMNS)
        writer.writerows(rows)


def as_numpy(value: Any) -> np.ndarray:
    """A tensor or array-like as a float32 NumPy array on the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().float().cpu().numpy()
    return np.asarray(value, dtype=np.float32)


def prediction_field(prediction: dict[str, Any], batch: Any, key: str) -> Any:
    """``key`` from the prediction, else from the batch (None when neither has it)."""
    if prediction.get(key) is not None:
        return prediction[key]
    return batch.get(key) if isinstance(batch, dict) else None


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write a CSV table atomically: readers see the old file or the whole new one."""
    with atomic_path(path) as tmp, tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)


def sample_names(
    prediction: dict[str, Any], batch: Any, count: int, rank: int, index: int, prefix: str
) -> list[str]:
    """Given names, else ``<prefix><dataset index>``, else ``rank<k>-batch<i>-<j>``."""
    names = prediction_field(prediction, batch, NAME)
    if names:
        return [str(name) for name in names]
    indices = prediction_field(prediction, batch, INDEX)
    if indices is not None:
        return [f"{prefix}{int(i)}" for i in indices]
    return [f"rank{rank}-batch{index}-{i}" for i in range(count)]


class PredictionWriter(BasePredictionWriter):
    """A prediction writer handing every batch, however written, to :meth:`write_batch`."""

    def __init__(self, write_interval: Literal["batch", "epoch"] = "batch") -> None:
        if write_interval not in ("batch", "epoch"):
            raise ConfigError(
                f"{type(self).__name__}.write_interval must be 'batch' or 'epoch', "
                f"got {write_interval!r}"
            )
        super().__init__(write_interval)

    @abstractmethod
    def write_batch(self, prediction: dict[str, Any], batch: Any, rank: int, index: int) -> None:
        """Write one batch's prediction; ``batch`` is None when writing at the epoch end."""

    def write_on_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        prediction: dict[str, Any],
        batch_indices: Sequence[int] | None,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Write the prediction of one batch."""
        self.write_batch(prediction, batch, trainer.global_rank, batch_idx)

    def write_on_epoch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        predictions: Sequence[Any],
        batch_indices: Sequence[Any],
    ) -> None:
        """Write the predictions of every batch of every dataloader."""
        nested = bool(predictions) and isinstance(predictions[0], list)
        for loader in predictions if nested else [predictions]:
            for batch_idx, prediction in enumerate(loader):
                self.write_batch(prediction, None, trainer.global_rank, batch_idx)
