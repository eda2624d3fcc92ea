"""The catalogue behind embeddings: its datamodule from a data config, its images and classes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from jsonargparse import ArgumentParser
from torch.utils.data import Dataset, default_collate

from galvision.data import keys
from galvision.data.datamodules import GalaxyDataModule
from galvision.data.row_tables import dataset_labels
from galvision.errors import ConfigError, DataError
from galvision.transforms import Observe, apply_transforms


def load_datamodule(data_config: Path, what: str = "--data") -> GalaxyDataModule:
    """The datamodule a data config file describes (not yet prepared)."""
    if not data_config.is_file():
        raise ConfigError(f"{what}: no such data config {data_config}")
    parser = ArgumentParser(exit_on_error=False, parser_mode="omegaconf")
    parser.add_subclass_arguments(GalaxyDataModule, "data")
    return parser.instantiate_classes(parser.parse_args(["--data", str(data_config)])).data


class Catalogue:
    """The rows of a data config's catalogue, as ``EmbeddingDataModule`` embedded them."""

    def __init__(self, data_config: Path) -> None:
        datamodule = load_datamodule(data_config)
        datamodule.prepare_data()
        self.where = data_config
        self.rows: Dataset = datamodule.catalogue()
        self.class_names = getattr(datamodule, "class_names", None)

    def __len__(self) -> int:
        return len(self.rows)

    def check_rows(self, rows: np.ndarray) -> None:
        """Refuse embedded rows this catalogue does not have (embedded from another one?)."""
        if len(rows) and int(rows.max()) >= len(self):
            raise DataError(
                f"--data {self.where}: has {len(self)} rows, the embeddings reach row {rows.max()}"
            )

    @torch.no_grad()
    def images(self, rows: np.ndarray, edit: Callable[[dict], dict] | None = None) -> np.ndarray:
        """Display-space images (N, C, H, W) of ``rows``, simulations observed as in evaluation;
        ``edit`` changes each sample first (e.g. draws an artefact on its clean galaxy)."""
        self.check_rows(rows)
        samples = [self.rows[int(row)] for row in rows]
        if edit is not None:
            samples = [edit(dict(sample)) for sample in samples]
        batch = apply_transforms([Observe()], default_collate(samples), "test")
        return batch[keys.IMAGE].clamp(0, 1).numpy()

    def labels(self, rows: np.ndarray) -> np.ndarray | None:
        """The class of each of ``rows``, or None for a catalogue without classes."""
        self.check_rows(rows)
        if self.class_names is None:
            return None
        return dataset_labels(self.rows)[rows]
