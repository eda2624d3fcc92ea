"""Survey presets: shipped YAML, round-trip, noise from depth, one-line errors, SurveyConfig."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from galvision.data.noise import GAIN, SKY_SIGMA
from galvision.data.simulate import SurveyConfig, sample_morphology_parameters
from galvision.data.simulate.presets import (
    DECALS,
    load_preset,
    preset_display,
    preset_noise,
    save_preset,
    sky_sigma_from_depth,
)
from galvision.errors import ConfigError

SURVEYS = Path(__file__).resolve().parents[2] / "configs" / "survey"
SDSS = load_preset(SURVEYS / "sdss.yaml")


@pytest.mark.parametrize("name", ["decals", "sdss", "hst"])
def test_shipped_preset_round_trips(name: str, tmp_path: Path) -> None:
    preset = load_preset(SURVEYS / f"{name}.yaml")
    assert preset.name == name
    save_preset(preset, tmp_path / "copy.yaml")
    assert load_preset(tmp_path / "copy.yaml") == preset


def test_decals_yaml_is_the_default_survey() -> None:
    assert load_preset(SURVEYS / "decals.yaml") == DECALS
    assert DECALS.sky_sigma == SKY_SIGMA and DECALS.gain == GAIN


def test_sky_sigma_from_depth_gives_the_decals_noise() -> None:
    depths = {"g": 24.0, "r": 23.4, "i": 23.0, "z": 22.5}
    for band, depth in depths.items():
        assert sky_sigma_from_depth(depth, 1.2, 0.262) == pytest.approx(SKY_SIGMA[band], rel=0.01)


def test_sdss_noise_follows_its_stated_depths() -> None:
    for band, depth in {"g": 22.2, "r": 22.2, "i": 21.3}.items():
        assert SDSS.sky_sigma[band] == pytest.approx(sky_sigma_from_depth(depth, 1.4, 0.396), 0.01)
    sky, gain = preset_noise(SDSS, ("g", "r", "i"))
    assert sky.tolist() == pytest.approx([0.0495, 0.0495, 0.1135])
    assert gain.shape == (3,)


def test_display_row_holds_stretch_quality_and_band_scales() -> None:
    assert preset_display(DECALS, DECALS.bands) is None
    row = preset_display(SDSS, ("g", "r", "i"))
    assert row.tolist() == pytest.approx([8.0, 0.8, 90.0, 2.0, 1.4, 1.3, 0.0, 0.0, 0.0])
    grey = replace(SDSS, lupton_minimum={"g": -0.01, "r": -0.02, "i": -0.03})
    assert preset_display(grey, ("i", "g")).tolist()[-2:] == pytest.approx([-0.03, -0.01])


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"bands": ["g", "q"]}, "bands"),
        ({"psf_fwhm_range": [-1.0, 2.0]}, "psf_fwhm_range"),
        ({"psf_fwhm_range": [2.0, 1.0]}, "psf_fwhm_range"),
        ({"pixel_scale": 0.0}, "pixel_scale"),
        ({"display": "histogram"}, "display"),
        ({"jpeg_quality": 0}, "jpeg_quality"),
        ({"lupton_scales": {"g": 1.0, "r": 1.0}}, "lupton_scales['i']"),
        ({"sky_sigma": {"g": 0.1, "r": -0.1, "i": 0.1}}, "sky_sigma['r']"),
        ({"lupton_minimum": {"g": 0.0, "r": -0.01}}, "lupton_minimum['i']"),
        ({"lupton_minimum": {"g": 0.0, "r": float("nan"), "i": 0.0}}, "lupton_minimum['r']"),
        ({"galaxy_sizes": {"at_19": 1.0, "slope": 0.0, "scatter": 0.1}}, "galaxy_sizes"),
        (
            {"galaxy_sizes": {"at_19": 1.0, "slope": 0.0, "scatter": 0.1, "min": 2, "max": 1}},
            "galaxy_sizes",
        ),
    ],
)
def test_bad_preset_is_a_one_line_error_naming_the_key(
    change: dict, key: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    save_preset(SDSS, path)
    text = path.read_text()
    path.write_text(text + "".join(f"{k}: {v!r}\n".replace("'", '"') for k, v in change.items()))
    # YAML keeps the last of repeated keys, so the appended value is the one read.
    with pytest.raises(ConfigError) as error:
        load_preset(path)
    message = str(error.value)
    assert "\n" not in message and key in message and str(path) in message


def test_unknown_preset_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text("name: x\npixel_scal: 0.2\n")
    with pytest.raises(ConfigError, match="pixel_scal"):
        load_preset(path)


def test_survey_config_takes_geometry_from_its_preset_and_explicit_values_win() -> None:
    config = SurveyConfig(catalogue="morphology", preset=SDSS)
    assert (config.pixel_scale, config.bands, config.psf_fwhm_range) == (
        0.396,
        ("g", "r", "i"),
        (1.0, 2.0),
    )
    assert SurveyConfig(catalogue="morphology", preset=SDSS, pixel_scale=0.5).pixel_scale == 0.5
    # A config read back from a file's JSON header is the same config.
    assert SurveyConfig(**json.loads(config.to_json())) == config


def test_default_preset_keeps_the_cache_keys_of_older_surveys() -> None:
    config = SurveyConfig()
    assert "preset" not in config.to_json()
    assert config.pixel_scale == 0.262 and config.bands == ("g", "r", "z")
    assert config.digest() != SurveyConfig(preset=replace(DECALS, name="other")).digest()


def test_a_presets_default_later_fields_keep_the_cache_keys_of_its_surveys() -> None:
    config = SurveyConfig(catalogue="morphology", preset=SDSS)
    assert "lupton_minimum" not in config.to_json()
    grey = replace(SDSS, lupton_minimum={"g": -0.01, "r": -0.01, "i": -0.01})
    assert SurveyConfig(catalogue="morphology", preset=grey).digest() != config.digest()
    # A config read back from a file's JSON header still equals the one that wrote it.
    assert SurveyConfig(**json.loads(config.to_json())) == config


def test_bands_without_noise_or_jpeg_channels_are_refused() -> None:
    with pytest.raises(ConfigError, match="sky_sigma for band"):
        SurveyConfig(catalogue="morphology", preset=SDSS, bands=("g", "r", "z"))
    with pytest.raises(ConfigError, match="3 bands"):
        SurveyConfig(catalogue="morphology", preset=SDSS, bands=("g", "r"))


def test_framing_needs_the_morphology_catalogue() -> None:
    with pytest.raises(ConfigError, match="catalogue='morphology'"):
        SurveyConfig(preset=SDSS)


def test_sdss_sizes_follow_its_size_magnitude_relation_unbounded_by_decals_stamps() -> None:
    config = SurveyConfig(catalogue="morphology", preset=SDSS, mag_range=(15.0, 17.0))
    decals = SurveyConfig(catalogue="morphology", mag_range=(15.0, 17.0))
    sizes = {name: [] for name in ("sdss", "decals")}
    for seed in range(300):
        for name, survey in (("sdss", config), ("decals", decals)):
            rng = np.random.default_rng(seed)
            sizes[name].append(sample_morphology_parameters(rng, survey, label=5)["hlr"])
    # r 15-17 in SDSS: median about 1.1″ x 10^(0.15 x 3) = 3.1″; DECaLS stamps stop at 2″.
    assert np.median(sizes["sdss"]) == pytest.approx(3.1, rel=0.15)
    assert max(sizes["decals"]) <= 2.0 < max(sizes["sdss"])
    assert "galaxy_sizes" not in DECALS.to_json()
