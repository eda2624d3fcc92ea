"""Consensus clustering of embeddings: only what an ensemble of clusterings agrees on is labelled.

Frozen features are reduced by PCA and clustered four ways (k-means, a Gaussian mixture, Ward
agglomeration, HDBSCAN). Each clustering's labels are matched to the k-means clusters (one to one
by the Hungarian method for the three with ``n`` clusters; HDBSCAN's clusters each to the
k-means cluster they overlap most, its noise voting for none). A sample is assigned where at
least ``agreement`` of the four vote for the same cluster, and left unassigned (-1) otherwise,
so the clusters that remain are the confident ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans
from sklearn.decomposition import PCA
from sklearn.metrics.cluster import contingency_matrix
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler
from torchmetrics.functional.clustering import normalized_mutual_info_score

from galvision.errors import ConfigError, DataError

UNASSIGNED = -1
METHODS = ("kmeans", "gmm", "agglomerative", "hdbscan")


@dataclass
class Consensus:
    """Each sample's consensus cluster (-1: no agreement) and every method's matched labels."""

    labels: np.ndarray
    votes: dict[str, np.ndarray]
    agreement: int

    @property
    def assigned_fraction(self) -> float:
        return float((self.labels != UNASSIGNED).mean())


def reduce(vectors: np.ndarray, components: int, seed: int) -> np.ndarray:
    """Standardised features projected on their first ``components`` principal components."""
    if vectors.ndim != 2 or len(vectors) < 3:
        raise DataError(f"cluster: need an (N, D) table of at least 3 rows, got {vectors.shape}")
    scaled = StandardScaler().fit_transform(vectors)
    keep = min(components, *scaled.shape)
    return PCA(keep, random_state=seed).fit_transform(scaled)


def match_to(reference: np.ndarray, labels: np.ndarray, one_to_one: bool) -> np.ndarray:
    """``labels`` renamed to the reference clusters they overlap (noise, -1, stays -1)."""
    kept = labels != UNASSIGNED
    if not kept.any():
        return labels.copy()
    found, targets = np.unique(labels[kept]), np.unique(reference)
    overlap = contingency_matrix(labels[kept], reference[kept])  # rows: found, columns: targets
    overlap = np.pad(overlap, ((0, 0), (0, len(targets) - overlap.shape[1])))
    if one_to_one:
        rows, columns = linear_sum_assignment(-overlap)
    else:
        rows, columns = np.arange(len(found)), overlap.argmax(axis=1)
    mapping = dict(zip(found[rows].tolist(), targets[columns].tolist(), strict=True))
    return np.array([mapping.get(label, UNASSIGNED) for label in labels.tolist()])


def ensemble_votes(features: np.ndarray, clusters: int, seed: int) -> dict[str, np.ndarray]:
    """Every method's labels of ``features``, matched to the k-means clusters."""
    kmeans = KMeans(clusters, n_init=10, random_state=seed).fit_predict(features)
    raw = {
        "gmm": GaussianMixture(clusters, covariance_type="diag", random_state=seed)
        .fit(features)
        .predict(features),
        "agglomerative": AgglomerativeClustering(clusters).fit_predict(features),
    }
    votes = {"kmeans": kmeans}
    votes |= {name: match_to(kmeans, labels, one_to_one=True) for name, labels in raw.items()}
    density = HDBSCAN(
        min_cluster_size=max(5, len(features) // (4 * clusters)), copy=True
    ).fit_predict(features)
    votes["hdbscan"] = match_to(kmeans, density, one_to_one=False)
    return votes


def consensus_clusters(
    vectors: np.ndarray, clusters: int = 20, components: int = 32, agreement: int = 3, seed: int = 0
) -> Consensus:
    """Cluster ``vectors`` by an ensemble; assign where ``agreement`` methods concur."""
    if not 2 <= clusters < len(vectors):
        raise ConfigError(
            f"cluster: --clusters must lie in [2, {len(vectors) - 1}], got {clusters}"
        )
    if not 1 <= agreement <= len(METHODS):
        raise ConfigError(f"cluster: --agreement must lie in [1, {len(METHODS)}], got {agreement}")
    votes = ensemble_votes(reduce(vectors, components, seed), clusters, seed)
    stacked = np.stack(list(votes.values()))
    labels = np.full(len(vectors), UNASSIGNED)
    for cluster in range(clusters):
        agreed = (stacked == cluster).sum(0) >= agreement
        labels[agreed] = cluster
    return Consensus(labels, votes, agreement)


def purity(clusters: np.ndarray, classes: np.ndarray) -> float:
    """Share of assigned samples whose cluster's commonest class is their own."""
    assigned = clusters != UNASSIGNED
    if not assigned.any():
        return float("nan")
    table = contingency_matrix(classes[assigned], clusters[assigned])
    return float(table.max(axis=0).sum() / assigned.sum())


def nmi(clusters: np.ndarray, classes: np.ndarray) -> float:
    """Normalised mutual information of the assigned samples' clusters and classes."""
    assigned = clusters != UNASSIGNED
    return float(
        normalized_mutual_info_score(
            torch.from_numpy(clusters[assigned]), torch.from_numpy(classes[assigned])
        )
    )
