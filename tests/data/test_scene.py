"""Crowded scenes: colour mixing, magnification at constant surface brightness, neighbours."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from galvision.data.simulate import SurveyConfig, scene
from galvision.data.simulate.galaxies import draw_galaxy, sample_galaxy_parameters
from galvision.data.simulate.presets import load_preset
from galvision.data.simulate.survey import simulate_galaxy
from galvision.errors import ConfigError

CROWDED = SurveyConfig(n_galaxies=40, scene="crowded", mag_range=(17.0, 19.0))
ISOLATED = SurveyConfig(n_galaxies=40, mag_range=(17.0, 19.0))
MODES = list(scene.COLOUR_MODES)


def mixing_of(mode: str, seed: int = 0) -> np.ndarray:
    """The mixing matrix of the first draw of ``mode`` from a seeded generator."""
    rng = np.random.default_rng(seed)
    while True:
        drawn, mixing = scene.colour_mixing(rng, 3)
        if MODES[drawn] == mode:
            return mixing


def test_colour_modes_mix_bands_as_named() -> None:
    image = np.random.default_rng(0).uniform(0, 1, (3, 8, 8)).astype(np.float32)
    grey = scene.mix_bands(image, mixing_of("grey"))
    np.testing.assert_allclose(grey, np.repeat(image.mean(0, keepdims=True), 3, 0), rtol=1e-5)
    permuted = scene.mix_bands(image, mixing_of("permuted"))
    assert sorted(permuted.sum((1, 2))) == pytest.approx(sorted(image.sum((1, 2))), rel=1e-5)
    single = scene.mix_bands(image, mixing_of("single"))
    assert np.count_nonzero(single.sum((1, 2))) == 1
    extreme = np.diag(mixing_of("extreme"))
    assert np.all(np.abs(-2.5 * np.log10(extreme)) <= scene.EXTREME_COLOUR)
    np.testing.assert_array_equal(scene.mix_bands(image, mixing_of("natural")), image)


def test_colour_modes_are_drawn_at_their_stated_rates() -> None:
    rng = np.random.default_rng(1)
    drawn = np.array([scene.colour_mixing(rng, 3)[0] for _ in range(4000)])
    rates = np.bincount(drawn, minlength=len(MODES)) / len(drawn)
    np.testing.assert_allclose(rates, list(scene.COLOUR_MODES.values()), atol=0.025)


def test_magnified_galaxy_keeps_its_surface_brightness() -> None:
    params = sample_galaxy_parameters(np.random.default_rng(3), ISOLATED)
    params |= {"dx": 0.0, "dy": 0.0, "disk_hlr": 1.0, "bulge_frac": 0.0, "disk_q": 1.0}
    draw = partial(draw_galaxy, params)

    class Zoomed:
        """A scene generator that always magnifies, keeps the colours and adds nothing."""

        def __init__(self, zoom: float) -> None:
            self.values = iter([0.0, np.log(zoom)])

        def uniform(self, *args: float) -> float:
            return next(self.values)

        def choice(self, *args, **kwargs) -> int:
            return MODES.index("natural")

        def poisson(self, mean: float) -> int:
            return 0

    image, crowded = scene.crowd(draw, params, ISOLATED, Zoomed(2.0))
    plain = draw(ISOLATED)
    assert crowded["scene_zoom"] == pytest.approx(2.0)
    # Twice as large at the same surface brightness: four times the flux, and the same mean
    # brightness within twice the radius.
    assert image.sum() / plain.sum() == pytest.approx(4.0, rel=0.02)
    radius = np.hypot(*np.meshgrid(np.arange(64) - 31.5, np.arange(64) - 31.5))
    for r in (6, 10, 15):
        zoomed, as_drawn = image[:, radius < 2 * r].mean(), plain[:, radius < r].mean()
        assert zoomed == pytest.approx(as_drawn, rel=0.05)
    assert crowded["flux_r"] == pytest.approx(4.0 * params["flux_r"])
    assert crowded["mag_r"] == pytest.approx(params["mag_r"] - 2.5 * np.log10(4.0))


def test_crowded_survey_adds_sources_to_the_same_galaxy() -> None:
    counts = {"scene_neighbours": 0, "scene_stars": 0, "scene_zoom": 0}
    for index in range(30):
        image, params = simulate_galaxy(CROWDED, index)
        alone, alone_params = simulate_galaxy(ISOLATED, index)
        assert params["scene_neighbours"] <= scene.MAX_NEIGHBOURS
        extra = params["scene_neighbours"] + params["scene_stars"]
        plain_scene = extra == 0 and params["scene_zoom"] == 1 and params["scene_colour"] == 0
        if plain_scene:  # nothing added: exactly the isolated galaxy
            np.testing.assert_allclose(image, alone, rtol=1e-5, atol=1e-7)
        if extra:
            assert image.sum() > 0.5 * alone.sum()
        assert alone_params["disk_hlr"] == params["disk_hlr"]
        counts["scene_neighbours"] += params["scene_neighbours"] > 0
        counts["scene_stars"] += params["scene_stars"] > 0
        counts["scene_zoom"] += params["scene_zoom"] > 1
    assert all(count > 0 for count in counts.values()), counts
    assert set(scene.SCENE_PARAMETERS) <= set(params)


def test_scene_is_left_out_of_the_digest_when_isolated() -> None:
    assert ISOLATED.digest() != CROWDED.digest()
    assert SurveyConfig(scene="isolated").digest() == SurveyConfig().digest()


def test_bad_scene_is_one_line_error() -> None:
    with pytest.raises(ConfigError, match=r"SurveyConfig.scene='busy' is unknown"):
        SurveyConfig(scene="busy")
    sdss = load_preset("configs/survey/sdss.yaml")
    with pytest.raises(ConfigError, match="needs an unframed preset"):
        SurveyConfig(catalogue="morphology", preset=sdss, scene="crowded")
