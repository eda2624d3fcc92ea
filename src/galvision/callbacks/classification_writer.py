"""Write predicted classes, class probabilities and regressed parameters as CSV per rank."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import lightning as L
import numpy as np

from galvision.callbacks.writing import PredictionWriter, as_numpy, sample_names, write_csv


class ClassificationWriter(PredictionWriter):
    """Writes the predictions of ``ClassificationTask`` to ``classifications-rank<k>.csv``.

    Columns: ``name``, ``prediction`` (the most likely class name), ``p_<class name>`` for every
    class, then one column per regressed parameter when the task regresses any. The table is
    published whole when prediction ends, so a reader never sees a half-written run.

    Args:
        output_dir: folder of the tables.
        write_interval: write after every batch or once at the end of the epoch.
    """

    def __init__(
        self,
        output_dir: str = "classifications",
        write_interval: Literal["batch", "epoch"] = "batch",
    ) -> None:
        super().__init__(write_interval)
        self.output_dir = Path(output_dir)
        self._reset()

    def _reset(self) -> None:
        self._columns: list[str] = []
        self._rows: list[list[str]] = []

    def table_path(self, rank: int) -> Path:
        """The table of one rank; ranks never share a file."""
        return self.output_dir / f"classifications-rank{rank}.csv"

    def on_predict_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Start a fresh run: rows of an earlier run are forgotten."""
        self._reset()

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Publish this rank's table."""
        if self._rows:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            write_csv(self.table_path(trainer.global_rank), self._columns, self._rows)

    def write_batch(self, prediction: dict[str, Any], batch: Any, rank: int, index: int) -> None:
        """Keep one row per image of the batch."""
        probabilities = as_numpy(prediction["probabilities"])
        count, num_classes = probabilities.shape
        classes = [str(c) for c in prediction.get("class_names") or range(num_classes)]
        predicted = prediction.get("prediction")
        predicted = probabilities.argmax(1) if predicted is None else as_numpy(predicted)
        parameter_names = [str(p) for p in prediction.get("parameter_names") or []]
        parameters = prediction.get("parameters")
        values = np.empty((count, 0)) if parameters is None else as_numpy(parameters)
        self._columns = ["name", "prediction", *(f"p_{c}" for c in classes), *parameter_names]
        names = sample_names(prediction, batch, count, rank, index, "galaxy")
        for name, k, row, params in zip(names, predicted, probabilities, values, strict=True):
            self._rows.append(
                [
                    name,
                    classes[int(k)],
                    *(f"{p:.6f}" for p in row),
                    *(f"{v:.6g}" for v in params),
                ]
            )
