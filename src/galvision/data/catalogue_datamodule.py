"""A labelled catalogue split train/val/test by class, with optional few-shot training sets."""

from __future__ import annotations

import numpy as np
from torch.utils.data import Subset

from galvision.data.catalogues import LabelledImageDataset
from galvision.data.datamodules import GalaxyDataModule
from galvision.data.labelled import check_label_budget, labelled_training
from galvision.errors import ConfigError, DataError

SPLITS = ("train", "val", "test")


def stratified_split(
    labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int
) -> dict[str, np.ndarray]:
    """Sorted indices per split; each class is shuffled and its fractions rounded separately."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {split: [] for split in SPLITS}
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test = round(test_fraction * len(members))
        n_val = round(val_fraction * len(members))
        parts["test"].append(members[:n_test])
        parts["val"].append(members[n_test : n_test + n_val])
        parts["train"].append(members[n_test + n_val :])
    return {split: np.sort(np.concatenate(chunks)) for split, chunks in parts.items()}


class CatalogueDataModule(GalaxyDataModule):
    """Any labelled catalogue reader, split by class into fixed, seeded train/val/test sets.

    Args:
        dataset: the reader, e.g. ``Galaxy10Dataset`` or ``FitsCatalogueDataset``.
        val_fraction: share of each class held out for validation.
        test_fraction: share of each class held out for testing.
        seed: seed of the split and of the few-shot draw.
        labels_per_class: keep only this many training examples per class (few-shot).
        label_fraction: keep only this share of each class's training examples (at least one).
        batch_size: images per batch.
        num_workers: loader worker processes.
    """

    def __init__(
        self,
        dataset: LabelledImageDataset,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        seed: int = 0,
        labels_per_class: int | None = None,
        label_fraction: float | None = None,
        batch_size: int = 64,
        num_workers: int = 2,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers)
        self.save_hyperparameters(ignore=["dataset"])
        if not (val_fraction >= 0 and test_fraction >= 0 and val_fraction + test_fraction < 1):
            raise ConfigError(
                f"data: val_fraction={val_fraction} and test_fraction={test_fraction} must be "
                "non-negative and leave training examples"
            )
        check_label_budget(labels_per_class, label_fraction)
        self.dataset = dataset
        # Split now so an empty split or a short class is reported before any model is built.
        self.split_indices = stratified_split(dataset.labels, val_fraction, test_fraction, seed)
        self.split_indices["train"] = labelled_training(
            self.split_indices["train"],
            dataset.labels,
            self.class_names,
            seed,
            labels_per_class,
            label_fraction,
        )
        for split, indices in self.split_indices.items():
            if not len(indices):
                raise DataError(
                    f"data: the {split} split is empty ({len(dataset)} examples, "
                    f"val_fraction={val_fraction}, test_fraction={test_fraction})"
                )
            self.datasets[split] = Subset(dataset, indices.tolist())

    def catalogue(self) -> LabelledImageDataset:
        """Every row of the catalogue, in its order."""
        return self.dataset

    @property
    def num_bands(self) -> int:
        """Bands of every image."""
        return self.dataset.bands

    @property
    def image_size(self) -> int:
        """Side in pixels of every image."""
        return self.dataset.size

    @property
    def num_classes(self) -> int:
        """Number of classes, including any absent from the catalogue."""
        return len(self.dataset.class_names)

    @property
    def class_names(self) -> list[str]:
        """Class names, indexed by label."""
        return self.dataset.class_names
