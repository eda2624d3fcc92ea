"""Nearest-neighbour search over embeddings with FAISS: exact, IVF-PQ and HNSW indexes.

Vectors are compared by cosine similarity (unit vectors, inner product). ``flat`` is exact;
``ivfpq`` (inverted lists of product-quantised codes, re-ranked exactly) and ``hnsw`` (a
navigable small-world graph) trade a little recall for speed and memory on large catalogues.
"""

from __future__ import annotations

import math

import faiss
import numpy as np
import torch
from torchmetrics.retrieval import RetrievalPrecision

from galvision.errors import ConfigError, DataError

INDEX_KINDS = ("flat", "ivfpq", "hnsw")
HNSW_LINKS = 32
HNSW_EF_SEARCH = 128
PQ_BITS = 8
REFINE_FACTOR = 4  # IVF-PQ candidates re-ranked exactly per neighbour asked for


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Float32 rows scaled to unit length (zero rows stay zero)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or not len(vectors):
        raise DataError(f"search: embeddings must be a non-empty (N, D) table, got {vectors.shape}")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def pq_subquantizers(dim: int) -> int:
    """The most sub-vectors of at least 4 dimensions that divide ``dim``."""
    return max(m for m in range(1, dim // 4 + 1) if dim % m == 0) if dim >= 4 else 1


def build_index(
    vectors: np.ndarray, kind: str = "flat", probes: int = 16, seed: int = 0
) -> faiss.Index:
    """A FAISS index of ``vectors`` by cosine similarity; ``probes``: IVF lists searched."""
    if kind not in INDEX_KINDS:
        raise ConfigError(f"search: index {kind!r} is not one of {list(INDEX_KINDS)}")
    data = unit_rows(vectors)
    count, dim = data.shape
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        lists = max(1, min(int(4 * math.sqrt(count)), count // 39))
        quantizer = faiss.IndexFlatIP(dim)
        coarse = faiss.IndexIVFPQ(
            quantizer, dim, lists, pq_subquantizers(dim), PQ_BITS, faiss.METRIC_INNER_PRODUCT
        )
        coarse.nprobe = min(probes, lists)
        coarse.cp.seed = seed
        if count < 2**PQ_BITS * 39:
            raise DataError(
                f"search: ivfpq needs at least {2**PQ_BITS * 39} vectors to train its codebooks, "
                f"got {count}; use flat or hnsw"
            )
        coarse.train(data)
        index = faiss.IndexRefineFlat(coarse)  # keeps the coarse index (and its quantizer) alive
        index.k_factor = REFINE_FACTOR
    index.add(data)
    return index


def search(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarities and row positions of the ``k`` nearest rows of every query."""
    if queries.shape[-1] != index.d:
        raise DataError(
            f"search: queries are {queries.shape[-1]}-d but the embeddings are {index.d}-d "
            "(embedded by another model?)"
        )
    return index.search(unit_rows(np.atleast_2d(queries)), min(k, index.ntotal))


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of each query's exact ``k`` nearest that an index also returned."""
    hits = [
        len(set(f.tolist()) & set(e.tolist())) / len(e) for f, e in zip(found, exact, strict=True)
    ]
    return float(np.mean(hits))


def precision_by_class(
    index: faiss.Index, vectors: np.ndarray, labels: np.ndarray, k: int
) -> dict[int, float]:
    """Mean precision@k of every row querying the others (itself left out), by its class."""
    _, found = search(index, vectors, k + 1)
    own = found == np.arange(len(vectors))[:, None]
    own[~own.any(axis=1), -1] = True  # an approximate index may miss the row itself
    others = found[~own].reshape(len(vectors), k)
    relevant = torch.from_numpy(labels[others] == labels[:, None])
    ranks = torch.arange(k, 0, -1, dtype=torch.float32).expand(len(vectors), k)
    queries = torch.arange(len(vectors))[:, None].expand(-1, k)
    result = {}
    for label in np.unique(labels):
        chosen = torch.from_numpy(labels == label)
        metric = RetrievalPrecision(top_k=k)
        result[int(label)] = float(metric(ranks[chosen], relevant[chosen], queries[chosen]))
    return result
