"""A per-config cache of simulated surveys that survives crashes and concurrent builders."""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import h5py

from galvision.data.simulate.config import SurveyConfig
from galvision.data.simulate.survey import simulate_survey
from galvision.errors import DataError

log = logging.getLogger(__name__)

DEFAULT_CACHE = "~/.cache/galvision"


def cache_dir() -> Path:
    """The cache directory, from $GALVISION_CACHE or ~/.cache/galvision, created on demand."""
    path = Path(os.environ.get("GALVISION_CACHE") or DEFAULT_CACHE).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _expected_shapes(config: SurveyConfig) -> dict[str, tuple[int, ...]]:
    """Shape of every dataset of a complete survey file."""
    bands, stamp, psf = len(config.bands), config.stamp_size, config.psf_size
    return {
        "clean": (config.n_galaxies, bands, stamp, stamp),
        "psf_ground": (config.n_psfs, bands, psf, psf),
        "psf_ground_fwhm": (config.n_psfs,),
        "psf_target": (bands, psf, psf),
    } | ({"label": (config.n_galaxies,)} if config.catalogue == "morphology" else {})


def _check_open_file(file: h5py.File, config: SurveyConfig | None) -> SurveyConfig:
    """Return the stored config, or a reason why the file is unusable as a ValueError."""
    if not file.attrs.get("complete", False):
        raise ValueError("incomplete: no 'complete' flag")
    try:
        stored = SurveyConfig(**json.loads(file.attrs["config"]))
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"unreadable 'config' attribute ({error})") from None
    expected = config or stored
    if file.attrs.get("digest") != expected.digest() or stored.digest() != expected.digest():
        raise ValueError(f"digest {file.attrs.get('digest')} != expected {expected.digest()}")
    for name, shape in _expected_shapes(expected).items():
        if name not in file:
            raise ValueError(f"missing dataset '{name}'")
        if file[name].shape != shape:
            raise ValueError(f"dataset '{name}' has shape {file[name].shape}, expected {shape}")
    if "params" not in file or not len(file["params"]):
        raise ValueError("missing group 'params'")
    for name, values in file["params"].items():
        if values.shape != (expected.n_galaxies,):
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
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such survey file")
    try:
        with h5py.File(path, "r") as file:
            return _check_open_file(file, config)
    except ValueError as error:
        raise DataError(f"{path}: {error}") from None
    except OSError as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(
            f"{path}: not a readable HDF5 file, truncated or corrupt ({reason})"
        ) from None


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `<path>.lock` so only one process builds a survey."""
    with open(path.with_name(f"{path.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _usable(path: Path, config: SurveyConfig) -> bool:
    """Whether a complete survey for `config` is already at `path`."""
    try:
        check_survey_file(path, config)
    except DataError:
        return False
    return True


def cached_survey(config: SurveyConfig, workers: int = 0, progress: bool = True) -> Path:
    """Path of the survey file for `config`, simulated only if not already cached."""
    path = cache_dir() / f"survey-{config.digest()}.h5"
    if _usable(path, config):
        return path
    with _locked(path):
        # Another process may have built it while this one waited for the lock.
        if path.exists():
            try:
                check_survey_file(path, config)
                return path
            except DataError as error:
                log.warning("Discarding cached survey %s", error)
                path.unlink()
        return simulate_survey(config, path, workers=workers, progress=progress)
