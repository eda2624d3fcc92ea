"""Which galaxies to show next: uncertainty, diversity, a hybrid of both, or random.

Each strategy ranks the unlabelled galaxies lazily, best first; the lease table takes the first
ones nobody else holds. ``entropy`` and ``margin`` rank by the learner's uncertainty,
``kcentre`` picks farthest-first from everything labelled in the foundation's embedding space
(greedy k-centre, Sener & Savarese 2018), and ``hybrid`` runs k-centre among the most uncertain
galaxies so that one page is not ten near-copies of the same doubt. Until the learner exists
(fewer than two classes labelled), uncertainty has nothing to go on and k-centre stands in.

The rules are a few lines of NumPy over arrays already in memory; modAL's versions would ask
for a scikit-learn estimator and recompute its predictions on every call.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

STRATEGIES = ("entropy", "margin", "kcentre", "hybrid", "random")
HYBRID_CANDIDATES = 10  # a hybrid page of n is diversified among the 10·n most uncertain


@dataclass(frozen=True)
class PoolState:
    """What a strategy sees: unit embeddings, class probabilities (None before any learner),
    which galaxies hold labels, and a seed of its own."""

    embeddings: np.ndarray
    probabilities: np.ndarray | None
    labelled: np.ndarray
    seed: int

    @property
    def unlabelled(self) -> np.ndarray:
        """Rows without a label, ascending."""
        free = np.ones(len(self.embeddings), dtype=bool)
        free[self.labelled] = False
        return np.flatnonzero(free)


def entropy(probabilities: np.ndarray) -> np.ndarray:
    """Predictive entropy of each row of class probabilities."""
    clipped = np.clip(probabilities, 1e-12, 1.0)
    return -(clipped * np.log(clipped)).sum(axis=1)


def margin(probabilities: np.ndarray) -> np.ndarray:
    """Gap between the two most probable classes (small: uncertain)."""
    top = np.sort(probabilities, axis=1)
    return top[:, -1] - top[:, -2]


def farthest_first(
    embeddings: np.ndarray, candidates: np.ndarray, centres: np.ndarray, seed: int
) -> Iterator[int]:
    """Greedy k-centre: each next candidate is the one farthest from every centre so far."""
    if not len(candidates):
        return
    points = embeddings[candidates]
    if len(centres):
        distance = (2 - 2 * points @ embeddings[centres].T).min(axis=1)
    else:
        # No centre yet: a seeded random first pick (unit vectors lie at most 4 apart, squared).
        distance = np.full(len(candidates), 4.0)
        distance[np.random.default_rng(seed).integers(len(candidates))] = 5.0
    for _ in range(len(candidates)):
        best = int(np.argmax(distance))
        if distance[best] < 0:
            return
        yield int(candidates[best])
        distance = np.minimum(distance, 2 - 2 * points @ points[best])
        distance[best] = -1.0


def rank(strategy: str, state: PoolState, count: int) -> Iterator[int]:
    """Unlabelled rows in the order ``strategy`` would show them, for a page of ``count``."""
    free = state.unlabelled
    if strategy == "random":
        yield from np.random.default_rng(state.seed).permutation(free).tolist()
        return
    if state.probabilities is None or strategy == "kcentre":
        yield from farthest_first(state.embeddings, free, state.labelled, state.seed)
        return
    probabilities = state.probabilities[free]
    doubt = margin(probabilities) if strategy == "margin" else -entropy(probabilities)
    ordered = free[np.argsort(doubt, kind="stable")]
    if strategy == "hybrid":
        head = ordered[: HYBRID_CANDIDATES * count]
        yield from farthest_first(state.embeddings, head, state.labelled, state.seed)
        ordered = ordered[len(head) :]
    yield from ordered.tolist()
