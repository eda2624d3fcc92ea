"""Per-config simulation files: rendered in parallel chunks, written atomically, locked, checked."""

from __future__ import annotations

import fcntl
import json
import logging
import math
import multiprocessing
import os
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TypeVar

import h5py
import numpy as np
from tqdm.auto import tqdm

from galvision.errors import ConfigError, DataError
from galvision.folders import check_writable

log = logging.getLogger(__name__)

DEFAULT_CACHE = "~/.cache/galvision"
MAX_WORKERS = 8
CHECKSUM = "crc32"  # attribute of every numeric dataset, set once the file is written
SLAB_BYTES = 64 * 2**20  # bytes read at a time when checksumming

T = TypeVar("T")


class SimulationConfig(Protocol):
    """What a cached simulation's config offers: JSON, a digest, bands and pixel scale."""

    bands: tuple[str, ...]
    pixel_scale: float

    def to_json(self) -> str: ...

    def digest(self) -> str: ...


C = TypeVar("C", bound=SimulationConfig)


def cache_dir() -> Path:
    """The cache directory, from $GALVISION_CACHE or ~/.cache/galvision, created on demand."""
    path = Path(os.environ.get("GALVISION_CACHE") or DEFAULT_CACHE).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(
            f"cache folder {path} (GALVISION_CACHE): cannot be created ({error.strerror}); "
            "set GALVISION_CACHE to a writable folder"
        ) from None
    return path


def default_workers() -> int:
    """Usable CPUs, at most MAX_WORKERS."""
    # Batch schedulers and containers restrict the usable CPUs below os.cpu_count().
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return min(len(usable) if usable else os.cpu_count() or 1, MAX_WORKERS)


def parallel_chunks(
    render_chunk: Callable[[int, int], T],
    n: int,
    workers: int,
    chunk: int,
    desc: str,
    progress: bool = True,
) -> Iterator[tuple[int, T]]:
    """Yield (start, render_chunk(start, stop)) over chunks of range(n) as they finish.

    Args:
        render_chunk: Picklable (a top-level function or a partial of one) for spawned workers.
        n: Items to render.
        workers: Processes; 0 means default_workers(), 1 renders in this process.
        chunk: Items per task: large enough to amortise pickling, small enough to balance.
        desc: Label of the progress bar.
        progress: Show a progress bar.
    """
    bounds = [(start, min(start + chunk, n)) for start in range(0, n, chunk)]
    workers = workers or default_workers()
    with tqdm(total=n, desc=desc, disable=not progress) as bar:
        if workers == 1 or len(bounds) == 1:
            for start, stop in bounds:
                result = render_chunk(start, stop)
                bar.update(stop - start)
                yield start, result
            return
        # Spawn, not fork: the caller may hold threads (torch, CUDA) that fork would not copy.
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(min(workers, len(bounds)), mp_context=context)
        try:
            futures = {pool.submit(render_chunk, *b): b for b in bounds}
            for future in as_completed(futures):
                start, stop = futures[future]
                result = future.result()
                bar.update(stop - start)
                yield start, result
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()


@contextmanager
def atomic_h5(path: Path) -> Iterator[h5py.File]:
    """Write an HDF5 file that appears at `path`, flagged complete, only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.partial-{os.getpid()}")
    try:
        with h5py.File(partial, "w") as file:
            yield file
            write_checksums(file)
            file.attrs["complete"] = True
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_header(file: h5py.File, config: SimulationConfig) -> None:
    """Store the config, its digest, the bands and the pixel scale as attributes of the file."""
    file.attrs["config"] = config.to_json()
    file.attrs["digest"] = config.digest()
    file.attrs["bands"] = json.dumps(list(config.bands))
    file.attrs["pixel_scale"] = config.pixel_scale


def read_header(file: h5py.File, config_type: type[C], expected: C | None) -> C:
    """The config stored in an open file; ValueError if unreadable or other than `expected`."""
    try:
        stored = config_type(**json.loads(file.attrs["config"]))
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"unreadable 'config' attribute ({error})") from None
    digest = (expected or stored).digest()
    if file.attrs.get("digest") != digest or stored.digest() != digest:
        raise ValueError(f"digest {file.attrs.get('digest')} != expected {digest}")
    return stored


def _numeric_datasets(file: h5py.File) -> list[h5py.Dataset]:
    found: list[h5py.Dataset] = []

    def keep(_: str, item: object) -> None:
        if isinstance(item, h5py.Dataset) and item.dtype.kind in "biufc":
            found.append(item)

    file.visititems(keep)
    return found


def dataset_checksum(dataset: h5py.Dataset) -> int:
    """CRC-32 of a dataset's values, read in slabs along its first axis."""
    if not dataset.shape:
        return zlib.crc32(np.asarray(dataset[()]).tobytes())
    row_bytes = dataset.dtype.itemsize * math.prod(dataset.shape[1:])
    step = max(1, SLAB_BYTES // max(1, row_bytes))
    crc = 0
    for start in range(0, len(dataset), step):
        crc = zlib.crc32(np.ascontiguousarray(dataset[start : start + step]).tobytes(), crc)
    return crc


def write_checksums(file: h5py.File) -> None:
    """Store the checksum of every numeric dataset of an open file as its attribute."""
    for dataset in _numeric_datasets(file):
        dataset.attrs[CHECKSUM] = dataset_checksum(dataset)


def verify_checksums(file: h5py.File) -> None:
    """Raise ValueError naming the first dataset whose values changed since they were written."""
    for dataset in _numeric_datasets(file):
        stored = dataset.attrs.get(CHECKSUM)
        if stored is None:
            raise ValueError(f"dataset '{dataset.name}' has no checksum (an older cache file)")
        if int(stored) != dataset_checksum(dataset):
            raise ValueError(
                f"dataset '{dataset.name}' fails its checksum: damaged since it was written"
            )


def check_datasets(file: h5py.File, shapes: dict[str, tuple[int, ...]]) -> None:
    """Raise ValueError naming the first dataset missing from the file or of another shape."""
    for name, shape in shapes.items():
        if name not in file:
            raise ValueError(f"missing dataset '{name}'")
        if file[name].shape != shape:
            raise ValueError(f"dataset '{name}' has shape {file[name].shape}, expected {shape}")


def check_h5(path: Path, check: Callable[[h5py.File], T], what: str) -> T:
    """Return check(open file), turning its ValueError or a corrupt file into a one-line DataError.

    Args:
        path: The HDF5 file.
        check: Reads the open file and raises ValueError with the reason it is unusable.
        what: Name of the kind of file in messages, e.g. "survey file".
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such {what}")
    try:
        with h5py.File(path, "r") as file:
            if not file.attrs.get("complete", False):
                raise ValueError("incomplete: no 'complete' flag")
            result = check(file)
            # Reading every value once here turns a damaged file into one line now,
            # not into an h5py error naming no file in the middle of training.
            verify_checksums(file)
            return result
    except ValueError as error:
        raise DataError(f"{path}: {error}") from None
    except OSError as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(
            f"{path}: not a readable HDF5 file, truncated or corrupt ({reason})"
        ) from None


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `<path>.lock` so only one process builds the file."""
    with open(path.with_name(f"{path.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def cached_file(path: Path, check: Callable[[Path], object], build: Callable[[Path], Path]) -> Path:
    """`path` once `check(path)` passes, calling `build(path)` first unless it already does.

    Args:
        path: The cache file.
        check: Raises DataError if the file at `path` is missing or unusable.
        build: Writes the file at `path` atomically and returns `path`.
    """
    try:
        check(path)
        return path
    except DataError:
        pass
    check_writable(path.parent, "cache folder (GALVISION_CACHE)")
    with _locked(path):
        # Another process may have built it while this one waited for the lock.
        if path.exists():
            try:
                check(path)
                return path
            except DataError as error:
                log.warning("Discarding cached file %s; building it again", error)
                path.unlink()
        return build(path)
