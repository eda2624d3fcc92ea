"""Per-row tables of any catalogue dataset: names and classes, read without loading images."""

from __future__ import annotations

import numpy as np
from torch.utils.data import ConcatDataset, Dataset, Subset

from galvision.data import keys


def dataset_labels(dataset: Dataset) -> np.ndarray:
    """The class of every sample of ``dataset``, read from its label table where it has one."""
    table = getattr(dataset, "labels", None)
    if table is not None and len(table) == len(dataset):
        return np.asarray(table)
    if isinstance(dataset, Subset):
        return dataset_labels(dataset.dataset)[np.asarray(dataset.indices)]
    if isinstance(dataset, ConcatDataset):
        return np.concatenate([dataset_labels(part) for part in dataset.datasets])
    return np.array([int(dataset[index][keys.LABEL]) for index in range(len(dataset))])


def row_names(dataset: Dataset) -> list[str]:
    """The name of every row: the catalogue's own, else ``row<k>`` as ``galvision predict``
    names rows."""
    names = getattr(dataset, "names", None)
    if names is None or len(names) != len(dataset):
        return [f"row{row}" for row in range(len(dataset))]
    return [str(name) for name in names]
