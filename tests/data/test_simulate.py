"""Seeded, parallel, cached survey simulation: determinism, caching, crash safety and physics."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import galsim
import h5py
import numpy as np
import pytest

from galvision.data.simulate import (
    SurveyConfig,
    cached_survey,
    check_survey_file,
    galaxies,
    simulate_survey,
    survey,
)
from galvision.data.simulate.psf import draw_ground_psf, draw_target_psf
from galvision.errors import ConfigError, DataError

TINY = SurveyConfig(n_galaxies=8, stamp_size=32, n_psfs=4, psf_size=15)


pytestmark = pytest.mark.usefixtures("fresh_cache")


def read(path: Path, name: str = "clean") -> np.ndarray:
    """One dataset of a survey file."""
    with h5py.File(path, "r") as file:
        return file[name][()]


def test_pixels_depend_on_the_seed_not_on_the_workers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    serial = simulate_survey(TINY, tmp_path / "serial.h5", workers=1, progress=False)
    monkeypatch.setattr(survey, "CHUNK", 3)  # three chunks, so two workers both get work
    parallel = simulate_survey(TINY, tmp_path / "parallel.h5", workers=2, progress=False)
    for name in ("clean", "params/mag_r", "params/flux_z", "psf_ground", "psf_target"):
        np.testing.assert_array_equal(read(serial, name), read(parallel, name))
    other = SurveyConfig(**{**vars(TINY), "seed": 1})
    reseeded = simulate_survey(other, tmp_path / "other.h5", workers=1, progress=False)
    assert not np.allclose(read(serial), read(reseeded))


def test_file_layout(tmp_path: Path) -> None:
    path = simulate_survey(TINY, tmp_path / "survey.h5", workers=1, progress=False)
    assert check_survey_file(path) == TINY
    with h5py.File(path, "r") as file:
        assert file["clean"].shape == (8, 3, 32, 32)
        assert file["clean"].dtype == np.float32
        assert file["clean"].chunks == (1, 3, 32, 32)
        assert file["psf_ground"].shape == (4, 3, 15, 15)
        assert file["psf_target"].shape == (3, 15, 15)
        assert file["params/flux_g"].shape == (8,)
        assert json.loads(file.attrs["bands"]) == ["g", "r", "z"]
        assert file.attrs["digest"] == TINY.digest()
        assert file.attrs["complete"]
        np.testing.assert_allclose(file["psf_ground_fwhm"][()], file["psf_params/fwhm"][()])
    assert [p.name for p in tmp_path.iterdir()] == ["survey.h5"]


def test_second_request_reuses_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    first = cached_survey(TINY, workers=1, progress=False)
    assert first.name == f"survey-{TINY.digest()}.h5"

    def fail(*args: object, **kwargs: object) -> Path:
        raise AssertionError("simulated again")

    monkeypatch.setattr(survey, "simulate_survey", fail)
    assert cached_survey(TINY, workers=1, progress=False) == first


@pytest.mark.parametrize("damage", ["garbage", "truncated", "incomplete"])
def test_damaged_cache_is_rebuilt(damage: str, caplog: pytest.LogCaptureFixture) -> None:
    path = cached_survey(TINY, workers=1, progress=False)
    original = read(path)
    if damage == "garbage":
        path.write_bytes(b"not an hdf5 file" * 64)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        with h5py.File(path, "a") as file:
            del file.attrs["complete"]
    with pytest.raises(DataError, match=path.name):
        check_survey_file(path, TINY)
    with caplog.at_level(logging.WARNING):
        assert cached_survey(TINY, workers=1, progress=False) == path
    assert path.name in caplog.text
    np.testing.assert_array_equal(read(path), original)


def test_wrong_config_is_refused(tmp_path: Path) -> None:
    path = simulate_survey(TINY, tmp_path / "survey.h5", workers=1, progress=False)
    with pytest.raises(DataError, match="digest"):
        check_survey_file(path, SurveyConfig(**{**vars(TINY), "seed": 5}))
    with pytest.raises(DataError, match="no such survey file"):
        check_survey_file(tmp_path / "missing.h5")


def test_interrupt_leaves_no_file(monkeypatch: pytest.MonkeyPatch, fresh_cache: Path) -> None:
    calls = []

    def interrupted(params: dict[str, float], config: SurveyConfig) -> np.ndarray:
        calls.append(params)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return galaxies.draw_galaxy(params, config)

    monkeypatch.setattr(survey, "draw_galaxy", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cached_survey(TINY, workers=1, progress=False)
    assert [p.suffix for p in fresh_cache.iterdir()] == [".lock"]


def test_concurrent_requests_build_once(monkeypatch: pytest.MonkeyPatch) -> None:
    builds = []

    def slow_build(*args: object, **kwargs: object) -> Path:
        builds.append(args)
        time.sleep(0.2)
        return simulate_survey(*args, **kwargs)

    monkeypatch.setattr(survey, "simulate_survey", slow_build)
    paths = []
    threads = [
        threading.Thread(target=lambda: paths.append(cached_survey(TINY, 1, False)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1
    assert len(paths) == 2 and paths[0] == paths[1]


def small_galaxy(seed: int) -> dict[str, float]:
    """Parameters of a compact galaxy that fits well inside a 32-pixel stamp."""
    params = galaxies.sample_galaxy_parameters(np.random.default_rng(seed), TINY)
    return {**params, "disk_hlr": 0.6, "bulge_hlr": 0.25}


def test_band_images_sum_to_the_stored_fluxes() -> None:
    for seed in range(3):
        params = small_galaxy(seed)
        image = galaxies.draw_galaxy(params, TINY)
        expected = [params[f"flux_{band}"] for band in TINY.bands]
        bulge, disk = galaxies.component_fluxes(params, TINY)
        np.testing.assert_allclose(expected, np.add(bulge, disk))
        np.testing.assert_allclose(image.sum(axis=(1, 2)), expected, rtol=0.02)
    flux_r = 10.0 ** ((22.5 - params["mag_r"]) / 2.5)
    assert params["flux_r"] == pytest.approx(flux_r)


def test_bulges_make_centres_redder() -> None:
    config = SurveyConfig(n_galaxies=12, stamp_size=32, bands=("g", "r"))
    y, x = np.indices((32, 32)) - 15.5
    radius = np.hypot(x, y) * config.pixel_scale
    gradients = []
    for seed in range(12):
        params = {**small_galaxy(seed), "bulge_frac": 0.4, "dx": 0.0, "dy": 0.0}
        g, r = galaxies.draw_galaxy(params, config)
        centre = radius < params["bulge_hlr"] * 2
        outer = (radius > params["disk_hlr"] * 1.5) & (radius < params["disk_hlr"] * 3)
        colour = [-2.5 * np.log10(g[m].sum() / r[m].sum()) for m in (centre, outer)]
        gradients.append(colour[0] - colour[1])
    assert np.mean(gradients) > 0.05


def moments(image: np.ndarray, scale: float) -> galsim.hsm.ShapeData:
    """Adaptive moments of an image."""
    return galsim.hsm.FindAdaptiveMom(galsim.Image(image.astype(np.float64), scale=scale))


@pytest.mark.parametrize("kind", [0, 1])
def test_ground_psf_shape_and_chromatic_width(kind: int) -> None:
    config = SurveyConfig()
    psf = draw_ground_psf(1.2, 0.04, -0.02, kind, 3.0, config)
    assert psf.shape == (3, 31, 31) and psf.dtype == np.float32
    np.testing.assert_allclose(psf.sum(axis=(1, 2)), 1.0, atol=1e-5)
    g, _, z = (moments(band, config.pixel_scale) for band in psf)
    assert g.moments_sigma / z.moments_sigma == pytest.approx((480 / 920) ** -0.2, rel=0.03)
    assert z.observed_shape.e1 == pytest.approx(0.04, abs=0.005)
    assert z.observed_shape.e2 == pytest.approx(-0.02, abs=0.005)


def test_target_psf_is_narrow() -> None:
    target = draw_target_psf(TINY)
    np.testing.assert_allclose(target.sum(axis=(1, 2)), 1.0, atol=1e-6)
    assert target[:, 7, 7].min() > 0.99


def test_digest_is_stable_and_seed_sensitive() -> None:
    same = SurveyConfig(**{**vars(TINY), "bands": ["g", "r", "z"]})
    assert same.digest() == TINY.digest() and len(TINY.digest()) == 16
    assert SurveyConfig(**{**vars(TINY), "seed": 1}).digest() != TINY.digest()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stamp_size", 4),
        ("psf_size", 14),
        ("bands", ()),
        ("bands", ("g", "q")),
        ("mag_range", (22.0, 18.0)),
        ("psf_fwhm_range", (1.5, 1.0)),
        ("n_galaxies", 0),
    ],
)
def test_impossible_config_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"SurveyConfig.{field}"):
        SurveyConfig(**{field: value})


def test_integer_and_float_values_give_the_same_cache_key() -> None:
    assert (
        SurveyConfig(mag_range=(15.5, 19)).digest() == SurveyConfig(mag_range=(15.5, 19.0)).digest()
    )
    assert SurveyConfig(pixel_scale=1).digest() == SurveyConfig(pixel_scale=1.0).digest()
