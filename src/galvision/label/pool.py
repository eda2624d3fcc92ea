"""The galaxies a session labels: their names, foundation embeddings and pictures.

Embedding a catalogue takes minutes on a CPU (eight times as long averaged over turns and
flips), so the vectors are cached beside the label database under a key of the backbone and
the catalogue; a restarted session reads them back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from galvision import api
from galvision.data.row_tables import row_names
from galvision.embeddings.catalogue import Catalogue
from galvision.folders import atomic_path

EMBED_BATCH = 256


@dataclass(frozen=True)
class Pool:
    """Names, unit-length embeddings and a picture source for every row of a catalogue, and
    optionally a prior: each row's class probabilities before any label."""

    names: list[str]
    embeddings: np.ndarray
    pictures: Callable[[np.ndarray], np.ndarray] | None
    root: Path | None = None
    prior: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.names)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, so dot products are cosines."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def source_stamp(source: str | Path) -> str:
    """A weights source as a cache key sees it: its resolved path (or its name) and, for a
    file, its write time, so that the key changes whenever the file does."""
    path = Path(source)
    stamp = str(path.stat().st_mtime_ns) if path.is_file() else ""
    return f"{path.resolve() if path.exists() else source}|{stamp}"


def cache_key(backbone: str, data_config: Path, invariant: bool = False) -> str:
    """A short key of the backbone source (and its file's mtime), the catalogue config and
    whether the embeddings average over turns and flips."""
    text = f"{source_stamp(backbone)}|"
    text += ("invariant|" if invariant else "") + data_config.read_text()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@torch.no_grad()
def embed_catalogue(
    catalogue: Catalogue,
    backbone: torch.nn.Module,
    rows: np.ndarray | None = None,
    invariant: bool = False,
) -> np.ndarray:
    """Pooled embeddings of ``rows`` of ``catalogue`` (default: all), with a progress bar;
    ``invariant``: averaged over the 8 turns and flips (see ``api.embed``)."""
    rows = np.arange(len(catalogue)) if rows is None else np.asarray(rows)
    starts = tqdm(range(0, len(rows), EMBED_BATCH), desc="embedding", unit="batch")
    batches = (catalogue.images(rows[start : start + EMBED_BATCH]) for start in starts)
    chunks = [api.embed(backbone, images, invariant=invariant) for images in batches]
    return np.concatenate(chunks) if chunks else np.empty((0, 0), np.float32)


def catalogue_root(catalogue: Catalogue) -> Path | None:
    """The folder of the catalogue's own file (HDF5, CSV), under which files may be served."""
    dataset = catalogue.rows
    while not hasattr(dataset, "path") and hasattr(dataset, "dataset"):
        dataset = dataset.dataset
    path = getattr(dataset, "path", None)
    return None if path is None else Path(path).resolve().parent


def load_pool(data_config: Path, backbone: str, cache_dir: Path, invariant: bool = False) -> Pool:
    """The pool of a data config, embedded by ``backbone`` (cached in ``cache_dir``)."""
    catalogue = Catalogue(data_config)
    cached = cache_dir / f"embeddings-{cache_key(backbone, data_config, invariant)}.npy"
    if cached.is_file():
        vectors = np.load(cached)
    else:
        vectors = embed_catalogue(catalogue, api.load_backbone(backbone), invariant=invariant)
        cache_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(cached) as tmp, open(tmp, "wb") as file:
            np.save(file, vectors)
    root = catalogue_root(catalogue)
    return Pool(row_names(catalogue.rows), unit_rows(vectors), catalogue.images, root)
