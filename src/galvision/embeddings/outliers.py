"""Outlier scores of embeddings: the rare objects of a catalogue ranked first.

``knn``: mean cosine distance to the ``k`` nearest other rows (FAISS, exact), high where a
row has no close company; ``iforest``: scikit-learn's isolation forest, high where few random
cuts isolate a row. Both score any feature table, so the same scorers rank pixel features for
the baseline.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import IsolationForest

from galvision.embeddings.search import build_index, search
from galvision.errors import ConfigError, DataError

SCORERS = ("knn", "iforest")
NEIGHBOURS = 10


def knn_scores(vectors: np.ndarray, k: int = NEIGHBOURS) -> np.ndarray:
    """Mean cosine distance of every row to its ``k`` nearest other rows."""
    if len(vectors) <= k:
        raise DataError(f"outliers: need more than k={k} rows, got {len(vectors)}")
    similarities, _ = search(build_index(vectors, "flat"), vectors, k + 1)
    return 1.0 - similarities[:, 1:].mean(axis=1)  # the first neighbour is the row itself


def isolation_scores(vectors: np.ndarray, seed: int = 0) -> np.ndarray:
    """Isolation-forest anomaly scores (higher: easier to isolate)."""
    forest = IsolationForest(n_estimators=300, random_state=seed).fit(vectors)
    return -forest.score_samples(vectors)


def outlier_scores(vectors: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """Scores of ``method`` (``knn`` or ``iforest``); higher is more unusual."""
    if method not in SCORERS:
        raise ConfigError(f"outliers: method {method!r} is not one of {list(SCORERS)}")
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or not len(vectors):
        raise DataError(f"outliers: need a non-empty (N, D) table, got {vectors.shape}")
    return knn_scores(vectors) if method == "knn" else isolation_scores(vectors, seed)
