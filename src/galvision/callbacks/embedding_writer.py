"""EmbeddingWriter: a catalogue's embeddings in resumable shards per rank, and their index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import numpy as np

from galvision.callbacks.writing import PredictionWriter, as_numpy, prediction_field, sample_names
from galvision.data import keys
from galvision.embeddings.store import (
    Shard,
    finished_rows,
    shard_files,
    shard_path,
    write_index,
    write_shard,
)
from galvision.errors import ConfigError, DataError

VECTOR_KINDS = ("embedding", "aligned")


class EmbeddingWriter(PredictionWriter):
    """Writes each rank's embeddings to shards of ``rows_per_shard`` rows (HDF5).

    A resumed run keeps every finished shard and embeds only the rows none holds (with
    :class:`~galvision.data.embedding_datamodule.EmbeddingDataModule`); at the end rank 0
    writes ``index.csv`` (row, name, shard). Read them with
    :func:`galvision.embeddings.store.read_embeddings`.

    Args:
        output_dir: folder of the shards and the index.
        rows_per_shard: rows gathered before a shard is written.
    """

    def __init__(self, output_dir: str = "embeddings", rows_per_shard: int = 4096) -> None:
        super().__init__("batch")
        if rows_per_shard < 1:
            raise ConfigError(f"EmbeddingWriter.rows_per_shard must be ≥ 1, got {rows_per_shard}")
        self.folder = Path(output_dir)
        self.rows_per_shard = rows_per_shard
        self.pending: list[Shard] = []
        self.number = 0

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Skip the rows finished shards hold; number this rank's shards after its last."""
        if stage != "predict":
            return
        skip = getattr(trainer.datamodule, "skip", None)
        if skip is not None:
            skip(finished_rows(self.folder))
        rank = trainer.global_rank
        mine = [
            path for path in shard_files(self.folder) if path.name.startswith(f"shard-r{rank:03d}-")
        ]
        self.number = 1 + max((int(path.stem.split("-")[-1]) for path in mine), default=-1)
        self.pending = []

    def write_batch(self, prediction: dict[str, Any], batch: Any, rank: int, index: int) -> None:
        rows = prediction_field(prediction, batch, keys.ROW)
        if rows is None:
            raise DataError(
                "EmbeddingWriter needs each sample's catalogue row (data: "
                "galvision.data.embedding_datamodule.EmbeddingDataModule)"
            )
        rows = np.asarray(as_numpy(rows), dtype=np.int64)
        vectors = {
            kind: as_numpy(prediction[kind])
            for kind in VECTOR_KINDS
            if prediction.get(kind) is not None
        }
        names = sample_names(prediction, batch, len(rows), rank, index, "row")
        self.pending.append(Shard(rows, names, vectors))
        if sum(len(shard.rows) for shard in self.pending) >= self.rows_per_shard:
            self.flush(rank)

    def flush(self, rank: int) -> None:
        """Write the gathered rows as this rank's next shard."""
        if not self.pending:
            return
        kinds = self.pending[0].vectors
        shard = Shard(
            np.concatenate([s.rows for s in self.pending]),
            [name for s in self.pending for name in s.names],
            {kind: np.concatenate([s.vectors[kind] for s in self.pending]) for kind in kinds},
        )
        write_shard(shard_path(self.folder, rank, self.number), shard)
        self.number += 1
        self.pending = []

    def on_predict_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_predict_epoch_end(trainer, pl_module)
        self.flush(trainer.global_rank)

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Once every rank has written its shards, rank 0 writes the index."""
        trainer.strategy.barrier()
        if trainer.is_global_zero:
            write_index(self.folder)
