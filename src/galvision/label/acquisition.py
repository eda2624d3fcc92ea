"""Which galaxies to show next: uncertainty, diversity, typicality, a hybrid, or random.

Each strategy ranks the unlabelled galaxies lazily, best first; the lease table takes the first
ones nobody else holds. ``entropy`` and ``margin`` rank by the learner's uncertainty,
``kcentre`` picks farthest-first from everything labelled in the foundation's embedding space
(greedy k-centre, Sener & Savarese 2018), ``typiclust`` the most typical galaxy of each cluster
that holds the fewest labels (TypiClust, Hacohen, Dekel & Weinshall 2022: with few labels,
typical examples teach more than outliers), and ``hybrid`` runs k-centre among the most
uncertain galaxies so that one page is not ten near-copies of the same doubt. Until the
learner exists (fewer than two classes labelled), uncertainty has nothing to go on and
k-centre stands in.

The rules are a few lines of NumPy over arrays already in memory; modAL's versions would ask
for a scikit-learn estimator and recompute its predictions on every call.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.neighbors import NearestNeighbors

STRATEGIES = ("entropy", "margin", "kcentre", "typiclust", "hybrid", "random")
HYBRID_CANDIDATES = 10  # a hybrid page of n is diversified among the 10·n most uncertain
# TypiClust's settings (Hacohen et al. 2022): clusters as many as labels after the page, at most
# MAX_CLUSTERS; clusters under MIN_CLUSTER galaxies are outliers and give no pick; typicality is
# the inverse mean distance to the TYPICAL_NEIGHBOURS nearest galaxies of the same cluster.
MAX_CLUSTERS = 500
MIN_CLUSTER = 5
TYPICAL_NEIGHBOURS = 20


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


def typicality(points: np.ndarray) -> np.ndarray:
    """Inverse mean distance of each point to its nearest neighbours among ``points``."""
    neighbours = min(TYPICAL_NEIGHBOURS, len(points) - 1)
    if neighbours < 1:
        return np.ones(len(points))
    distances, _ = NearestNeighbors(n_neighbors=neighbours + 1).fit(points).kneighbors(points)
    return 1 / (distances[:, 1:].mean(axis=1) + 1e-12)


def typical_of_clusters(
    embeddings: np.ndarray, labelled: np.ndarray, count: int, seed: int
) -> Iterator[int]:
    """TypiClust: the most typical free galaxy of the cluster with fewest labels (then the
    largest), again and again; galaxies of outlier clusters last, in random order."""
    clusters = min(len(labelled) + count, MAX_CLUSTERS, len(embeddings))
    assignment = KMeans(clusters, n_init=1, random_state=seed).fit_predict(embeddings)
    sizes = np.bincount(assignment, minlength=clusters)
    covered = np.bincount(assignment[labelled], minlength=clusters)
    free = np.ones(len(embeddings), dtype=bool)
    free[labelled] = False
    unlabelled = np.bincount(assignment[free], minlength=clusters)
    scores: dict[int, np.ndarray] = {}
    while True:
        open_clusters = np.flatnonzero((sizes >= MIN_CLUSTER) & (unlabelled > 0))
        if not len(open_clusters):
            break
        cluster = open_clusters[np.lexsort((-sizes[open_clusters], covered[open_clusters]))[0]]
        members = np.flatnonzero(assignment == cluster)
        if cluster not in scores:
            scores[cluster] = typicality(embeddings[members])
        best = members[np.argmax(np.where(free[members], scores[cluster], -np.inf))]
        yield int(best)
        free[best] = False
        covered[cluster] += 1
        unlabelled[cluster] -= 1
    yield from np.random.default_rng(seed).permutation(np.flatnonzero(free)).tolist()


def rank(strategy: str, state: PoolState, count: int) -> Iterator[int]:
    """Unlabelled rows in the order ``strategy`` would show them, for a page of ``count``."""
    free = state.unlabelled
    if strategy == "random":
        yield from np.random.default_rng(state.seed).permutation(free).tolist()
        return
    if strategy == "typiclust":
        yield from typical_of_clusters(state.embeddings, state.labelled, count, state.seed)
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
