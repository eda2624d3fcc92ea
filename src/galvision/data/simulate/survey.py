"""Render a whole survey in parallel into one HDF5 file, written atomically."""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import closing
from pathlib import Path

import h5py
import numpy as np
from tqdm.auto import tqdm

from galvision.data.simulate.classes import CLASS_NAMES
from galvision.data.simulate.config import SurveyConfig
from galvision.data.simulate.galaxies import draw_galaxy, sample_galaxy_parameters
from galvision.data.simulate.morphology import sample_morphology
from galvision.data.simulate.morphology_render import draw_morphology
from galvision.data.simulate.psf import draw_ground_psf, draw_target_psf, sample_psf_parameters

CHUNK = 64  # galaxies per task: large enough to amortise pickling, small enough to balance
MAX_WORKERS = 8
GALAXY_STREAM, PSF_STREAM = 0, 1
LABEL = "label"  # class index of a morphology galaxy, stored as integers beside the images

Chunk = tuple[int, np.ndarray, dict[str, np.ndarray]]


def galaxy_rng(config: SurveyConfig, index: int) -> np.random.Generator:
    """The generator of galaxy `index`, independent of how the work is split."""
    return np.random.default_rng([config.seed, GALAXY_STREAM, index])


def psf_rng(config: SurveyConfig, index: int) -> np.random.Generator:
    """The generator of ground PSF `index`."""
    return np.random.default_rng([config.seed, PSF_STREAM, index])


def _default_workers() -> int:
    """Usable CPUs, at most MAX_WORKERS."""
    # Batch schedulers and containers restrict the usable CPUs below os.cpu_count().
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return min(len(usable) if usable else os.cpu_count() or 1, MAX_WORKERS)


def simulate_galaxy(config: SurveyConfig, index: int) -> tuple[np.ndarray, dict[str, float]]:
    """Sample and render galaxy `index` of the config's catalogue: image and parameters."""
    rng = galaxy_rng(config, index)
    if config.catalogue == "morphology":
        params = sample_morphology(rng, config, index)
        return draw_morphology(params, config), params
    params = sample_galaxy_parameters(rng, config)
    return draw_galaxy(params, config), params


def simulate_chunk(config: SurveyConfig, start: int, stop: int) -> Chunk:
    """Sample and render galaxies start..stop-1; top level so spawned workers can import it."""
    galaxies = [simulate_galaxy(config, index) for index in range(start, stop)]
    rows = [params for _, params in galaxies]
    columns = {name: np.array([row[name] for row in rows]) for name in rows[0]}
    return start, np.stack([image for image, _ in galaxies]), columns


def _chunks(config: SurveyConfig, workers: int) -> Iterator[Chunk]:
    """Yield rendered chunks as they finish, in-process or from a spawned pool."""
    bounds = [
        (start, min(start + CHUNK, config.n_galaxies))
        for start in range(0, config.n_galaxies, CHUNK)
    ]
    if workers == 1 or len(bounds) == 1:
        for start, stop in bounds:
            yield simulate_chunk(config, start, stop)
        return
    # Spawn, not fork: the caller may hold threads (torch, CUDA) that fork would not copy safely.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(min(workers, len(bounds)), mp_context=context)
    try:
        futures = [pool.submit(simulate_chunk, config, start, stop) for start, stop in bounds]
        for future in as_completed(futures):
            yield future.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def _write_psfs(file: h5py.File, config: SurveyConfig) -> None:
    """Render the ground PSFs and the target PSF into the open file."""
    params = [sample_psf_parameters(psf_rng(config, j), config) for j in range(config.n_psfs)]
    images = [
        draw_ground_psf(p["fwhm"], p["e1"], p["e2"], p["kind"], p["beta"], config) for p in params
    ]
    file.create_dataset("psf_ground", data=np.stack(images))
    file.create_dataset("psf_ground_fwhm", data=np.array([p["fwhm"] for p in params], "f4"))
    group = file.create_group("psf_params")
    for name in params[0]:
        group.create_dataset(name, data=np.array([p[name] for p in params]))
    file.create_dataset("psf_target", data=draw_target_psf(config))


def _write_galaxies(file: h5py.File, config: SurveyConfig, workers: int, progress: bool) -> None:
    """Render every galaxy into `clean`, its parameters into `params/` and its class to `label`."""
    shape = (len(config.bands), config.stamp_size, config.stamp_size)
    clean = file.create_dataset(
        "clean", shape=(config.n_galaxies, *shape), dtype="f4", chunks=(1, *shape)
    )
    group = file.create_group("params")
    bar = tqdm(total=config.n_galaxies, desc="simulating galaxies", disable=not progress)
    # closing() stops the pool at once if writing fails, rather than whenever it is collected.
    with bar, closing(_chunks(config, workers)) as chunks:
        for start, images, columns in chunks:
            stop = start + len(images)
            clean[start:stop] = images
            for name, values in columns.items():
                target, dtype = (file, "i8") if name == LABEL else (group, "f8")
                if name not in target:
                    target.create_dataset(name, shape=(config.n_galaxies,), dtype=dtype)
                target[name][start:stop] = values
            bar.update(len(images))


def simulate_survey(
    config: SurveyConfig, path: Path, workers: int = 0, progress: bool = True
) -> Path:
    """Render the survey into HDF5 at `path`; a failure or Ctrl-C leaves no file behind.

    Args:
        config: What to simulate; results depend only on it, not on `workers`.
        path: Destination file, replaced atomically once complete.
        workers: Processes to use; 0 means min(cpu count, 8), 1 renders in this process.
        progress: Show a progress bar.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workers = workers or _default_workers()
    partial = path.with_name(f"{path.name}.partial-{os.getpid()}")
    try:
        with h5py.File(partial, "w") as file:
            file.attrs["config"] = config.to_json()
            file.attrs["digest"] = config.digest()
            file.attrs["bands"] = json.dumps(list(config.bands))
            file.attrs["pixel_scale"] = config.pixel_scale
            if config.catalogue == "morphology":
                file.attrs["class_names"] = json.dumps(list(CLASS_NAMES))
            _write_psfs(file, config)
            _write_galaxies(file, config, workers, progress)
            file.attrs["complete"] = True
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path
