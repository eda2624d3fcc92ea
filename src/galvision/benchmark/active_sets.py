"""The sets ``galvision benchmark active`` labels: a pool and a test split per set, embedded
once by a backbone and scored by a prior where one is given, both cached on disk so that sets
sharing a pool or a test split embed it once."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from galvision import api
from galvision.data.row_tables import dataset_labels, row_names
from galvision.embeddings.catalogue import Catalogue, load_datamodule
from galvision.errors import ConfigError
from galvision.label.pool import cache_key, embed_catalogue, source_stamp, unit_rows
from galvision.label.prior import cached_array, checkpoint_prior

# A split of a data config by name, several scored together, or None for every row.
SplitName = str | tuple[str, ...] | None


@dataclass(frozen=True)
class ActiveSet:
    """A pool to label (a split of a data config, or all of it), a test split (several splits
    together, or all of a catalogue disjoint from the pool), the classes."""

    name: str
    pool: Path
    pool_split: str | None
    test: Path
    classes: tuple[str, ...] | None = None  # None: the pool catalogue's own classes
    test_split: SplitName = "test"
    prior_classes: dict[str, str] | None = None  # a prior's classes onto these (None: by name)


@dataclass(frozen=True)
class Split:
    """Rows of one catalogue (in its row order), their unit embeddings and classes, and their
    prior class probabilities where a prior is given."""

    rows: np.ndarray
    names: list[str]
    embeddings: np.ndarray
    labels: np.ndarray
    prior: np.ndarray | None = None


def split_rows(config: Path, split: SplitName) -> np.ndarray | None:
    """Catalogue rows of ``split`` of a data config, or of several splits in row order (None:
    every row)."""
    if split is None:
        return None
    indices = load_datamodule(config).split_indices
    indices = indices() if callable(indices) else indices
    names = (split,) if isinstance(split, str) else split
    unknown = [name for name in names if name not in indices]
    if unknown:
        raise ConfigError(f"{config}: no split {unknown[0]!r}; the splits are {sorted(indices)}")
    if isinstance(split, str):
        return np.asarray(indices[split])
    return np.sort(np.concatenate([np.asarray(indices[name]) for name in names]))


def split_label(split: SplitName) -> str:
    """A split's name in file names: ``all`` for every row, ``train+val`` for several."""
    if split is None:
        return "all"
    return split if isinstance(split, str) else "+".join(split)


def embed_split(
    backbone: torch.nn.Module,
    config: Path,
    split: SplitName,
    classes: list[str],
    invariant: bool = False,
) -> Split:
    """The rows of ``split`` whose class is one of ``classes``, embedded by ``backbone``
    (``invariant``: averaged over turns and flips)."""
    catalogue = Catalogue(config)
    theirs = list(catalogue.class_names or [])
    rows = split_rows(config, split)
    rows = np.arange(len(catalogue)) if rows is None else rows
    mapping = np.array([classes.index(name) if name in classes else -1 for name in theirs])
    labels = mapping[dataset_labels(catalogue.rows)[rows]]
    rows, labels = rows[labels >= 0], labels[labels >= 0]
    names = row_names(catalogue.rows)
    vectors = unit_rows(embed_catalogue(catalogue, backbone, rows, invariant))
    return Split(rows, [names[row] for row in rows], vectors, labels)


def set_classes(active: ActiveSet) -> list[str]:
    """The classes a set is labelled in."""
    if active.classes is not None:
        return list(active.classes)
    names = Catalogue(active.pool).class_names
    if names is None:
        raise ConfigError(f"{active.pool}: the catalogue has no classes for an oracle to answer")
    return list(names)


def embedding_name(active: ActiveSet, backbone: str, invariant: bool) -> str:
    """The name of the embeddings a set's curves are scored on, part of each curve's key so a
    curve is read back only for the same backbone, pool and averaging."""
    return f"{active.name}-{cache_key(backbone, active.pool, invariant)}"


def split_cache_name(
    config: Path, split: SplitName, classes: list[str], backbone: str, invariant: bool
) -> str:
    """The file name of a split's cached embeddings, which changes with what they are made of."""
    made_of = f"{cache_key(backbone, config, invariant)}|{split}|{'|'.join(classes)}"
    digest = hashlib.sha256(made_of.encode()).hexdigest()[:16]
    return f"{config.stem}-{split_label(split)}-{digest}.npz"


def embedded_split(
    folder: Path,
    config: Path,
    split: SplitName,
    classes: list[str],
    backbone: str,
    invariant: bool,
    model: Callable[[], torch.nn.Module],
) -> Split:
    """A split embedded by ``model()``, read back from ``folder`` when it was made before."""
    cached = folder / split_cache_name(config, split, classes, backbone, invariant)
    if cached.is_file():
        stored = np.load(cached, allow_pickle=False)
        return Split(stored["rows"], stored["names"].tolist(), stored["x"], stored["y"])
    part = embed_split(model(), config, split, classes, invariant)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(cached, rows=part.rows, names=np.array(part.names), x=part.embeddings, y=part.labels)
    return part


@dataclass(frozen=True)
class Prior:
    """A classification or alignment checkpoint scoring every galaxy before any label, and its
    classes mapped onto a set's."""

    checkpoint: Path
    mapping: dict[str, str] | None = None

    def name(self) -> str:
        """A digest of the checkpoint (path and time written) and the mapping: part of each
        curve's key and of the cached priors' names."""
        made_of = f"{source_stamp(self.checkpoint)}|{sorted((self.mapping or {}).items())}"
        return hashlib.sha256(made_of.encode()).hexdigest()[:12]


def with_split_prior(
    part: Split, config: Path, classes: list[str], prior: Prior, folder: Path
) -> Split:
    """``part`` with the prior's probabilities of its rows (cached in ``folder``)."""
    made_of = f"{prior.name()}|{config.resolve()}|{part.rows.tobytes().hex()}|{classes}"
    digest = hashlib.sha256(made_of.encode()).hexdigest()[:16]
    scores = cached_array(
        folder / f"{config.stem}-prior-{digest}.npy",
        lambda: checkpoint_prior(
            prior.checkpoint, Catalogue(config), classes, prior.mapping, part.rows
        ),
    )
    return dataclasses.replace(part, prior=scores)


def embed_set(
    active: ActiveSet,
    backbone: str,
    folder: Path,
    invariant: bool = False,
    classes: list[str] | None = None,
    prior: Prior | None = None,
) -> tuple[Split, Split]:
    """Pool and test split of a set in its ``classes`` (read from the set when None), embedded
    and, given a ``prior``, scored by it (cached in ``folder``, so sets sharing a pool or a
    test split embed it once)."""
    classes = set_classes(active) if classes is None else classes
    model = functools.cache(lambda: api.load_backbone(backbone))
    parts = []
    for config, split in ((active.pool, active.pool_split), (active.test, active.test_split)):
        part = embedded_split(folder, config, split, classes, backbone, invariant, model)
        if prior is not None:
            part = with_split_prior(part, config, classes, prior, folder)
        parts.append(part)
    pool, test = parts
    return pool, test
