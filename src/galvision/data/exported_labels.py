"""Training on the labels ``galvision label`` exported: a catalogue's rows with their CSV labels.

The CSV (``row,name,label,...``) names each galaxy by its row in the source catalogue and by
name, which must agree, so labels made on one catalogue cannot silently land on another. A
seeded, stratified share of the labels validates; an optional labelled datamodule's test split
(or its whole catalogue) scores the model, its classes matched to these by name (rows of other
classes left out).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import ConcatDataset, Dataset

from galvision.data import keys
from galvision.data.catalogue_datamodule import stratified_split
from galvision.data.datamodules import DerivedDataModule, GalaxyDataModule
from galvision.data.row_tables import dataset_labels, row_names
from galvision.errors import ConfigError, DataError

LABEL_COLUMNS = ("row", "name", "label")


def read_exported_labels(
    path: Path, names: list[str], classes: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Rows and class indices of a label CSV, each row checked against the catalogue."""
    if not path.is_file():
        raise ConfigError(f"data.labels: no such file {path}")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in LABEL_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(
                f"{path}: no column {missing[0]!r} (expected {', '.join(LABEL_COLUMNS)})"
            )
        entries = list(reader)
    rows, targets = [], []
    for line, entry in enumerate(entries, start=2):
        where = f"{path}:{line}"
        try:
            row = int(entry["row"])
        except ValueError:
            raise DataError(f"{where}: row {entry['row']!r} is not a whole number") from None
        if not 0 <= row < len(names) or names[row] != entry["name"]:
            found = names[row] if 0 <= row < len(names) else "absent"
            raise DataError(
                f"{where}: row {row} is {found!r} in the catalogue, the CSV says {entry['name']!r}"
            )
        if entry["label"] not in classes:
            raise DataError(f"{where}: label {entry['label']!r} is not one of {classes}")
        rows.append(row)
        targets.append(classes.index(entry["label"]))
    if not rows:
        raise DataError(f"{path}: no labels")
    return np.array(rows), np.array(targets)


class RelabelledRows(Dataset):
    """Chosen rows of a catalogue, each sample carrying the class given here."""

    def __init__(self, catalogue: Dataset, rows: np.ndarray, targets: np.ndarray) -> None:
        self.catalogue, self.rows, self.labels = catalogue, rows, targets

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = dict(self.catalogue[int(self.rows[index])])
        sample[keys.LABEL] = int(self.labels[index])
        return sample


class ExportedLabelsDataModule(DerivedDataModule):
    """The galaxies of ``source`` that ``labels`` (a ``galvision label`` CSV) labelled.

    Args:
        source: the datamodule whose catalogue was labelled.
        labels: the exported CSV.
        classes: the class names, in the order of the model's outputs.
        test: a labelled datamodule whose test split scores the model (default: validation).
        test_split: the split of ``test`` that scores, or a list of its splits scored together;
            None: all of its catalogue (one disjoint from ``source``).
        val_fraction: share of each class's labels held out for validation.
        seed: seed of that split.
        batch_size: images per batch.
        num_workers: loader worker processes.
    """

    def __init__(
        self,
        source: GalaxyDataModule,
        labels: str,
        classes: list[str],
        test: GalaxyDataModule | None = None,
        test_split: str | list[str] | None = "test",
        val_fraction: float = 0.2,
        seed: int = 0,
        batch_size: int = 32,
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers)
        if not 0 <= val_fraction < 1:
            raise ConfigError(f"data.val_fraction={val_fraction} must lie in [0, 1)")
        self.source, self.test, self.labels_path = source, test, Path(labels)
        self.test_split = test_split
        self.names, self.val_fraction, self.seed = list(classes), val_fraction, seed

    @property
    def class_names(self) -> list[str]:
        return self.names

    @property
    def num_classes(self) -> int:
        return len(self.names)

    def prepare_data(self) -> None:
        self.source.prepare_data()
        if self.test is not None:
            self.test.prepare_data()

    def setup(self, stage: str | None = None) -> None:
        if "train" in self.datasets:
            return
        catalogue = self.source.catalogue()
        rows, targets = read_exported_labels(self.labels_path, row_names(catalogue), self.names)
        parts = stratified_split(targets, self.val_fraction, 0.0, self.seed)
        for split, kept in (("train", parts["train"]), ("val", parts["val"])):
            self.datasets[split] = RelabelledRows(catalogue, rows[kept], targets[kept])
        if not len(self.datasets["val"]):
            self.datasets["val"] = self.datasets["train"]
        self.datasets["test"] = self._test_split() if self.test else self.datasets["val"]

    def _test_split(self) -> Dataset:
        """The test datamodule's test split (or catalogue) in these classes, others left out."""
        if self.test_split is None:
            split = self.test.catalogue()
        else:
            self.test.setup("test")
            names = [self.test_split] if isinstance(self.test_split, str) else self.test_split
            for name in names:
                if name not in self.test.datasets:
                    raise ConfigError(
                        f"data.test_split={name!r}: the test datamodule has the splits "
                        f"{sorted(self.test.datasets)}"
                    )
            parts = [self.test.datasets[name] for name in names]
            split = parts[0] if len(parts) == 1 else ConcatDataset(parts)
        theirs = list(self.test.class_names)
        mapping = np.array([self.names.index(n) if n in self.names else -1 for n in theirs])
        targets = mapping[dataset_labels(split)]
        kept = np.flatnonzero(targets >= 0)
        if not len(kept):
            raise DataError(f"data.test: no test galaxy of the classes {self.names}")
        return RelabelledRows(split, kept, targets[kept])
