"""Every row of a catalogue, once and in order, for embedding; rows already embedded skipped."""

from __future__ import annotations

from typing import Any

import numpy as np
from torch.utils.data import DataLoader, Dataset, Subset

from galvision.data import keys
from galvision.data.datamodules import DerivedDataModule, GalaxyDataModule
from galvision.errors import DataError


class RowDataset(Dataset):
    """A catalogue whose samples also carry their position in it (``ROW``)."""

    def __init__(self, catalogue: Dataset) -> None:
        self.catalogue = catalogue

    def __len__(self) -> int:
        return len(self.catalogue)

    def __getitem__(self, row: int) -> dict[str, Any]:
        return self.catalogue[row] | {keys.ROW: row}


class EmbeddingDataModule(DerivedDataModule):
    """The whole catalogue of another datamodule (every split, evaluation PSFs and noise).

    ``predict`` serves the rows in order; :meth:`skip` leaves out rows embedded before (the
    embedding writer calls it when a run resumes).

    Args:
        source: any galvision datamodule: a simulated survey, a FITS / HDF5 / image-folder
            catalogue, a mixture.
        batch_size: images per batch.
        num_workers: loader worker processes.
    """

    def __init__(
        self, source: GalaxyDataModule, batch_size: int = 256, num_workers: int = 2
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers)
        self.source = source
        self.skipped = np.empty(0, dtype=np.int64)

    @property
    def class_names(self) -> list[str] | None:
        return getattr(self.source, "class_names", None)

    def prepare_data(self) -> None:
        self.source.prepare_data()

    def setup(self, stage: str | None = None) -> None:
        if "catalogue" not in self.datasets:
            catalogue = self.source.catalogue()
            if not len(catalogue):
                raise DataError(f"data.source ({type(self.source).__name__}) has no rows to embed")
            self.datasets["catalogue"] = RowDataset(catalogue)

    def skip(self, rows: np.ndarray) -> None:
        """Leave ``rows`` out of the predict loader (they are embedded already)."""
        self.skipped = np.asarray(rows, dtype=np.int64)

    def remaining_rows(self) -> np.ndarray:
        """Rows still to embed."""
        self.setup("predict")
        return np.setdiff1d(np.arange(len(self.datasets["catalogue"])), self.skipped)

    def predict_dataloader(self) -> DataLoader:
        remaining = Subset(self.datasets["catalogue"], self.remaining_rows().tolist())
        return DataLoader(
            remaining,
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )
