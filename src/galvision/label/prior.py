"""A prior for the labelling learner: a model's scores of every galaxy before any label.

A classifier trained on the simulation knows the classes before anyone labels a galaxy, and so
does an alignment model, zero-shot from the classes' prompts. Their probabilities, summed onto
the session's classes, are the page's scores from the start, and the learner's own
probabilities are combined with them as a product of experts,
``p ∝ prior^weight · probe``: with few labels the prior carries the ranking, and the probe
corrects it as labels come in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from galvision.checkpoints import load_checkpoint_task
from galvision.embeddings.catalogue import Catalogue
from galvision.errors import ConfigError
from galvision.folders import atomic_path
from galvision.label.pool import cache_key
from galvision.tasks.base import GalaxyTask

PRIOR_BATCH = 256
FLOOR = 1e-6  # the least probability a prior gives a class, so no label is ever ruled out


def class_matrix(
    theirs: Sequence[str], classes: Sequence[str], mapping: Mapping[str, str] | None = None
) -> np.ndarray:
    """A (their classes, session classes) 0/1 matrix summing a classifier's probabilities onto
    the session's: each of theirs goes where ``mapping`` sends it, else to the session class of
    the same name, else nowhere."""
    mapping = dict(mapping or {})
    for name, target in mapping.items():
        if name not in theirs:
            raise ConfigError(f"prior_classes: {name!r} is not a class of the prior {list(theirs)}")
        if target not in classes:
            raise ConfigError(f"prior_classes: {name!r} → {target!r}, not a class {list(classes)}")
    matrix = np.zeros((len(theirs), len(classes)))
    for row, name in enumerate(theirs):
        target = mapping.get(name, name)
        if target in classes:
            matrix[row, list(classes).index(target)] = 1.0
    missing = [name for name, column in zip(classes, matrix.T, strict=True) if not column.any()]
    if missing:
        raise ConfigError(
            f"prior_classes: no class of the prior {list(theirs)} maps onto {missing}"
        )
    return matrix


def scoring_task(checkpoint: Path) -> GalaxyTask:
    """The task of a checkpoint that scores classes: a classifier, or an alignment model."""
    if not Path(checkpoint).is_file():
        raise ConfigError(f"prior: no checkpoint at {checkpoint}")
    task = load_checkpoint_task(Path(checkpoint), GalaxyTask)
    if not hasattr(task, "class_probabilities"):
        raise ConfigError(
            f"prior: {checkpoint} holds a {type(task).__name__}, which scores no classes; "
            "give a classification or an alignment checkpoint"
        )
    return task


@torch.no_grad()
def checkpoint_prior(
    checkpoint: Path,
    catalogue: Catalogue,
    classes: Sequence[str],
    mapping: Mapping[str, str] | None = None,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """(rows, classes) probabilities of a classification or alignment checkpoint on ``rows``
    of ``catalogue`` (default: all), summed onto ``classes`` and renormalised."""
    task = scoring_task(checkpoint)
    matrix = torch.from_numpy(class_matrix(task.class_names, classes, mapping)).float()
    rows = np.arange(len(catalogue)) if rows is None else np.asarray(rows)
    chunks = []
    for start in tqdm(range(0, len(rows), PRIOR_BATCH), desc="prior", unit="batch"):
        images = torch.from_numpy(catalogue.images(rows[start : start + PRIOR_BATCH])).float()
        chunks.append(task.class_probabilities(images) @ matrix)
    summed = torch.cat(chunks).clamp_min(FLOOR) if chunks else torch.empty(0, len(classes))
    return (summed / summed.sum(1, keepdim=True)).numpy()


def load_prior(
    checkpoint: Path,
    data_config: Path,
    classes: Sequence[str],
    mapping: Mapping[str, str] | None,
    cache_dir: Path,
) -> np.ndarray:
    """The prior of every row of a data config (:func:`checkpoint_prior`), cached in
    ``cache_dir`` under a key of the checkpoint, the catalogue, the classes and the mapping."""
    mapped = sorted((mapping or {}).items())
    made_of = f"{cache_key(str(checkpoint), data_config)}|{list(classes)}|{mapped}"
    cached = cache_dir / f"prior-{hashlib.sha256(made_of.encode()).hexdigest()[:16]}.npy"
    return cached_array(
        cached, lambda: checkpoint_prior(checkpoint, Catalogue(data_config), classes, mapping)
    )


def cached_array(path: Path, make: Callable[[], np.ndarray]) -> np.ndarray:
    """The array stored at ``path``, or ``make()``'s, written there whole or not at all."""
    if path.is_file():
        return np.load(path)
    array = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as file:
        np.save(file, array)
    return array


def with_prior(probabilities: np.ndarray, prior: np.ndarray | None, weight: float) -> np.ndarray:
    """``probabilities`` times ``prior`` to the power ``weight``, renormalised per row (as they
    are without a prior or at weight 0). Classes the learner gives zero keep the prior alone."""
    if prior is None or weight == 0:
        return probabilities
    logits = weight * np.log(prior) + np.log(np.where(probabilities > 0, probabilities, 1.0))
    logits -= logits.max(axis=1, keepdims=True)
    combined = np.exp(logits)
    return combined / combined.sum(axis=1, keepdims=True)
