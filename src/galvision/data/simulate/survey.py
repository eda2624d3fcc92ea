"""Render a whole survey in parallel into one HDF5 file, written atomically and cached."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import h5py
import numpy as np

from galvision.data.simulate.cache import (
    atomic_h5,
    cache_dir,
    cached_file,
    check_datasets,
    check_h5,
    parallel_chunks,
    read_header,
    write_header,
)
from galvision.data.simulate.classes import CLASS_NAMES
from galvision.data.simulate.config import SurveyConfig
from galvision.data.simulate.framing import draw_framed
from galvision.data.simulate.galaxies import draw_galaxy, sample_galaxy_parameters
from galvision.data.simulate.morphology import sample_morphology
from galvision.data.simulate.morphology_render import draw_morphology
from galvision.data.simulate.psf import draw_ground_psf, draw_target_psf, sample_psf_parameters
from galvision.data.simulate.scene import crowd, scene_rng

CHUNK = 64  # galaxies per task: large enough to amortise pickling, small enough to balance
GALAXY_STREAM, PSF_STREAM = 0, 1
LABEL = "label"  # class index of a morphology galaxy, stored as integers beside the images

Chunk = tuple[np.ndarray, dict[str, np.ndarray]]


def galaxy_rng(config: SurveyConfig, index: int) -> np.random.Generator:
    """The generator of galaxy `index`, independent of how the work is split."""
    return np.random.default_rng([config.seed, GALAXY_STREAM, index])


def psf_rng(config: SurveyConfig, index: int) -> np.random.Generator:
    """The generator of ground PSF `index`."""
    return np.random.default_rng([config.seed, PSF_STREAM, index])


def simulate_galaxy(config: SurveyConfig, index: int) -> tuple[np.ndarray, dict[str, float]]:
    """Sample and render galaxy `index` of the config's catalogue (and scene): image, parameters."""
    rng = galaxy_rng(config, index)
    if config.catalogue == "morphology":
        params = sample_morphology(rng, config, index)
        draw = partial(draw_morphology, params)
    else:
        params = sample_galaxy_parameters(rng, config)
        draw = partial(draw_galaxy, params)
    if config.scene == "crowded":
        return crowd(draw, params, config, scene_rng(config, index))
    if config.preset.frame_r90 is None:
        return draw(config), params
    return draw_framed(draw, config, params["frame_scale"]), params


def simulate_chunk(config: SurveyConfig, start: int, stop: int) -> Chunk:
    """Sample and render galaxies start..stop-1; top level so spawned workers can import it."""
    galaxies = [simulate_galaxy(config, index) for index in range(start, stop)]
    rows = [params for _, params in galaxies]
    columns = {name: np.array([row[name] for row in rows]) for name in rows[0]}
    return np.stack([image for image, _ in galaxies]), columns


def write_psfs(file: h5py.File, config: SurveyConfig) -> None:
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
    n = config.n_galaxies
    shape = (len(config.bands), config.stamp_size, config.stamp_size)
    clean = file.create_dataset("clean", shape=(n, *shape), dtype="f4", chunks=(1, *shape))
    group = file.create_group("params")
    render = partial(simulate_chunk, config)
    for start, (images, columns) in parallel_chunks(
        render, n, workers, CHUNK, "simulating galaxies", progress
    ):
        stop = start + len(images)
        clean[start:stop] = images
        for name, values in columns.items():
            target, dtype = (file, "i8") if name == LABEL else (group, "f8")
            if name not in target:
                target.create_dataset(name, shape=(n,), dtype=dtype)
            target[name][start:stop] = values


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
    with atomic_h5(path) as file:
        write_header(file, config)
        if config.catalogue == "morphology":
            file.attrs["class_names"] = json.dumps(list(CLASS_NAMES))
        write_psfs(file, config)
        _write_galaxies(file, config, workers, progress)
    return Path(path)


def psf_shapes(config: SurveyConfig) -> dict[str, tuple[int, ...]]:
    """Shape of every PSF dataset written by write_psfs."""
    bands, psf = len(config.bands), config.psf_size
    return {
        "psf_ground": (config.n_psfs, bands, psf, psf),
        "psf_ground_fwhm": (config.n_psfs,),
        "psf_target": (bands, psf, psf),
    }


def _check_open_file(file: h5py.File, config: SurveyConfig | None) -> SurveyConfig:
    """Return the stored config, or a reason why the file is unusable as a ValueError."""
    stored = read_header(file, SurveyConfig, config)
    expected = config or stored
    n = expected.n_galaxies
    stamp = (len(expected.bands), expected.stamp_size, expected.stamp_size)
    labels = {LABEL: (n,)} if expected.catalogue == "morphology" else {}
    check_datasets(file, {"clean": (n, *stamp)} | psf_shapes(expected) | labels)
    if "params" not in file or not len(file["params"]):
        raise ValueError("missing group 'params'")
    for name, values in file["params"].items():
        if values.shape != (n,):
            raise ValueError(f"params/{name} has shape {values.shape}")
    # Reading the last galaxy touches the end of the file, where truncation shows.
    _ = file["clean"][-1]
    return stored


def check_survey_file(path: Path, config: SurveyConfig | None = None) -> SurveyConfig:
    """Return the config stored in a complete survey file, or raise a one-line DataError.

    Args:
        path: The HDF5 file written by simulate_survey.
        config: If given, the file must have been simulated from exactly this config.
    """
    return check_h5(path, partial(_check_open_file, config=config), "survey file")


def cached_survey(config: SurveyConfig, workers: int = 0, progress: bool = True) -> Path:
    """Path of the survey file for `config`, simulated only if not already cached."""
    return cached_file(
        cache_dir() / f"survey-{config.digest()}.h5",
        partial(check_survey_file, config=config),
        lambda path: simulate_survey(config, path, workers=workers, progress=progress),
    )
