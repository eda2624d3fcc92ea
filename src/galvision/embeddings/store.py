"""Embedding shards on disk: HDF5 files of rows, names and vectors, and an index of names.

A prediction run writes ``shard-r<rank>-<number>.h5`` files, each complete or absent (written
to a temporary name, then renamed), so an interrupted run keeps every finished shard and a new
run embeds only the rows no shard holds. Each shard stores ``row`` (the sample's position in
its catalogue), ``name`` and one ``(n, D)`` float32 table per kind of vector (``embedding``:
the backbone's pooled features; ``aligned``: the alignment head's shared space).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from galvision.errors import DataError
from galvision.folders import atomic_path

SHARD_PATTERN = "shard-r*-*.h5"
INDEX_FILE = "index.csv"
ROW, NAME = "row", "name"


@dataclass
class Shard:
    """One shard's rows, names and vectors of each kind."""

    rows: np.ndarray
    names: list[str]
    vectors: dict[str, np.ndarray]


@dataclass
class EmbeddingTable:
    """Every embedded row once, in row order, with one kind of vector."""

    rows: np.ndarray
    names: list[str]
    vectors: np.ndarray
    kind: str

    def __len__(self) -> int:
        return len(self.rows)

    def position(self, name: str) -> int:
        """The table position of a catalogue name, or one line saying it is not there."""
        try:
            return self.names.index(name)
        except ValueError:
            raise DataError(f"no embedded row is named {name!r}") from None


def shard_path(folder: Path, rank: int, number: int) -> Path:
    """Where rank ``rank`` writes its ``number``-th shard."""
    return folder / f"shard-r{rank:03d}-{number:06d}.h5"


def write_shard(path: Path, shard: Shard) -> None:
    """Write a shard atomically: readers see no file or the whole file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as file:
        file[ROW] = np.asarray(shard.rows, dtype=np.int64)
        file[NAME] = np.asarray(shard.names, dtype=object)
        file[NAME].attrs["encoding"] = "utf-8"
        for kind, values in shard.vectors.items():
            file.create_dataset(kind, data=np.asarray(values, dtype=np.float32))


def shard_files(folder: Path) -> list[Path]:
    """The finished shards of a folder, in name order (none when the folder is new)."""
    return sorted(Path(folder).glob(SHARD_PATTERN))


def read_shard(path: Path, kinds: tuple[str, ...] | None = None) -> Shard:
    """A shard's rows, names and the vectors of ``kinds`` (all when None); one-line errors."""
    try:
        with h5py.File(path, "r") as file:
            rows = file[ROW][...]
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in file[NAME][...]]
            stored = [key for key in file if key not in (ROW, NAME)]
            wanted = stored if kinds is None else list(kinds)
            missing = sorted(set(wanted) - set(stored))
            if missing:
                raise DataError(f"{path}: no {missing} vectors in this shard (it has {stored})")
            vectors = {kind: file[kind][...] for kind in wanted}
    except (OSError, KeyError) as error:
        raise DataError(f"{path}: not a readable embedding shard ({error})") from None
    return Shard(rows, names, vectors)


def finished_rows(folder: Path) -> np.ndarray:
    """Rows some finished shard of ``folder`` holds."""
    shards = [read_shard(path, kinds=()).rows for path in shard_files(folder)]
    return np.unique(np.concatenate(shards)) if shards else np.empty(0, dtype=np.int64)


def iter_shards(folder: Path, kind: str) -> Iterator[Shard]:
    """The shards one by one with vectors of ``kind``: catalogues larger than memory stream."""
    for path in shard_files(folder):
        yield read_shard(path, kinds=(kind,))


def read_embeddings(folder: Path, kind: str = "embedding") -> EmbeddingTable:
    """Every embedded row once, sorted by row, with its ``kind`` vectors."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(
            f"{folder}: no such embeddings folder (`galvision predict --config "
            "tasks/embed.yaml` writes one)"
        )
    shards = list(iter_shards(folder, kind))
    if not shards:
        raise DataError(f"{folder}: no embedding shards ({SHARD_PATTERN}) in this folder")
    widths = {shard.vectors[kind].shape[1] for shard in shards}
    if len(widths) > 1:
        raise DataError(f"{folder}: shards of {kind!r} vectors differ in width {sorted(widths)}")
    rows = np.concatenate([shard.rows for shard in shards])
    names = [name for shard in shards for name in shard.names]
    vectors = np.concatenate([shard.vectors[kind] for shard in shards])
    rows, first = np.unique(rows, return_index=True)  # a row written twice counts once
    return EmbeddingTable(rows, [names[i] for i in first], vectors[first], kind)


def write_index(folder: Path) -> Path:
    """``index.csv``: every row once, its name and the shard holding it."""
    seen: dict[int, tuple[str, str]] = {}
    for path in shard_files(folder):
        shard = read_shard(path, kinds=())
        for row, name in zip(shard.rows.tolist(), shard.names, strict=True):
            seen.setdefault(row, (name, path.name))
    target = Path(folder) / INDEX_FILE
    with atomic_path(target) as tmp, tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([ROW, NAME, "shard"])
        writer.writerows((row, *seen[row]) for row in sorted(seen))
    return target
