"""Realistic galaxies: knots in the disk conserving flux, colours by type, dust lanes, configs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from galvision.data.simulate import (
    CLASS_NAMES,
    SurveyConfig,
    classes,
    realism,
    sample_morphology_parameters,
)
from galvision.data.simulate.components import disk_knots
from galvision.data.simulate.morphology_render import component_fluxes, draw_morphology
from galvision.errors import ConfigError

REALISTIC = SurveyConfig(catalogue="morphology", galaxies="realistic", mag_range=(16.0, 17.0))
ANALYTIC = SurveyConfig(catalogue="morphology", mag_range=(16.0, 17.0))
LABEL = {name: label for label, name in enumerate(CLASS_NAMES)}


def sample(name: str, seed: int, config: SurveyConfig = REALISTIC) -> dict[str, float]:
    return sample_morphology_parameters(np.random.default_rng(seed), config, LABEL[name])


def test_disk_knots_conserve_flux_and_lie_inside_the_disk() -> None:
    hlr = 1.5
    axis = (np.arange(601) - 300) * 0.05
    radius = np.hypot(axis[None], axis[:, None])
    inside, outside = [], []
    for seed in range(8):
        image = disk_knots(hlr, 100, 0.1, seed).drawImage(nx=601, ny=601, scale=0.05).array
        assert image.sum() == pytest.approx(1.0, abs=0.01)
        inside.append(image[radius < 2.32 * hlr].sum())
        outside.append(image[radius > 4 * hlr].sum())
    # Knots follow the disk's exponential light: 90 % within its 90 %-light radius.
    assert np.mean(inside) == pytest.approx(0.9, abs=0.04)
    assert np.mean(outside) < 0.03


def test_knots_carry_their_share_of_the_disk_light_in_every_band() -> None:
    params = sample(classes.UNBARRED_LOOSE_SPIRAL, 1)
    assert 0.2 <= params["knot_frac"] <= 0.4 and params["knot_count"] >= 15
    fluxes = component_fluxes(params, REALISTIC)
    assert {"knots", "arm_knots", "arms", "disk"} <= set(fluxes)
    total = np.sum(list(fluxes.values()), axis=0)
    stored = [params[f"flux_{band}"] for band in REALISTIC.bands]
    assert total == pytest.approx(stored)
    image = draw_morphology(params, REALISTIC)
    # The stamp holds the galaxy's light, knots included, up to what falls outside it.
    assert image.sum(axis=(1, 2)) / total == pytest.approx(1.0, abs=0.06)


@pytest.mark.parametrize("name", list(CLASS_NAMES))
def test_colours_follow_the_galaxy_type_within_their_stated_ranges(name: str) -> None:
    for seed in range(20):
        params = sample(name, seed)
        if not math.isnan(params["bulge_g_r"]):
            assert abs(params["bulge_g_r"] - realism.RED_SEQUENCE[0]) < 5 * realism.RED_SEQUENCE[1]
        if name in realism.DISK_G_R and not math.isnan(params["disk_g_r"]):
            mean, scatter = realism.DISK_G_R[name]
            assert abs(params["disk_g_r"] - mean) < 5 * scatter
            # Star-forming knots, arms and rings are bluer than their disk.
            if not math.isnan(params["young_g_r"]):
                assert params["young_g_r"] <= params["disk_g_r"] - realism.YOUNG_SHIFT[0] + 1e-9


def test_dust_lane_dims_an_edge_on_disk_more_in_blue_and_keeps_pixels_positive() -> None:
    params = sample(classes.EDGE_ON_NO_BULGE, 2)
    assert 0.3 <= params["dust_depth"] <= 0.6
    dusty = draw_morphology(params, REALISTIC)
    clear = draw_morphology(params | {"dust_depth": math.nan}, REALISTIC)
    assert dusty.min() >= 0
    lost = 1 - dusty.sum(axis=(1, 2)) / clear.sum(axis=(1, 2))  # g, r, z
    assert lost[0] > lost[1] > lost[2] > 0


def test_analytic_galaxies_are_unchanged_by_the_realism_parameters() -> None:
    params = sample(classes.BARRED_SPIRAL, 4, ANALYTIC)
    assert all(math.isnan(params[name]) for name in realism.REALISM_PARAMETERS)
    assert "knots" not in component_fluxes(params, ANALYTIC)
    # The default model leaves the cache keys of earlier surveys as they were.
    assert '"galaxies"' not in ANALYTIC.to_json()


def test_realistic_galaxies_need_the_morphology_catalogue() -> None:
    with pytest.raises(ConfigError, match="galaxies='realistic' needs catalogue='morphology'"):
        SurveyConfig(galaxies="realistic")
    with pytest.raises(ConfigError, match="galaxies='fractal' is unknown"):
        SurveyConfig(catalogue="morphology", galaxies="fractal")


def test_realistic_survey_renders_every_class() -> None:
    for label in range(len(CLASS_NAMES)):
        params = sample_morphology_parameters(np.random.default_rng(label), REALISTIC, label)
        image = draw_morphology(params, REALISTIC)
        assert np.isfinite(image).all() and image.sum() > 0
