"""Labelled morphology galaxies: parameters per class, images, survey files and config errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import numpy as np
import pytest

from galvision.data.simulate import (
    CLASS_NAMES,
    PARAMETERS,
    SurveyConfig,
    cached_survey,
    check_survey_file,
    draw_morphology,
    sample_morphology_parameters,
    survey,
)
from galvision.data.simulate.gallery import save_morphology_gallery
from galvision.errors import ConfigError

# Faint enough that every galaxy, companion and tail lies well inside the stamp.
CONFIG = SurveyConfig(
    catalogue="morphology", n_galaxies=20, n_psfs=2, psf_size=15, mag_range=(18.5, 19.5)
)
LABEL = {name: label for label, name in enumerate(CLASS_NAMES)}
SAMPLES = 25


pytestmark = pytest.mark.usefixtures("fresh_cache")


def sample(name: str, seed: int = 0, **overrides: float) -> dict[str, float]:
    """Parameters of one galaxy of a class, with some replaced."""
    rng = np.random.default_rng(seed)
    return sample_morphology_parameters(rng, CONFIG, LABEL[name]) | overrides


def centred(name: str, seed: int = 0, **overrides: float) -> dict[str, float]:
    """Parameters of a galaxy at the stamp centre, so that radii and rotations are exact."""
    return sample(name, seed, dx=0.0, dy=0.0, **overrides)


def values(name: str, parameter: str) -> np.ndarray:
    """One parameter of SAMPLES galaxies of a class."""
    return np.array([sample(name, seed)[parameter] for seed in range(SAMPLES)])


def r_band(params: dict[str, float]) -> np.ndarray:
    """The r-band image of a galaxy."""
    return draw_morphology(params, CONFIG)[CONFIG.bands.index("r")]


def polar(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Radius in pixels and azimuth of every pixel about the stamp centre."""
    y, x = np.indices((size, size)) - (size - 1) / 2
    return np.hypot(x, y), np.arctan2(y, x)


def axis_ratio(image: np.ndarray) -> float:
    """Minor over major axis of the flux-weighted second moments."""
    y, x = np.indices(image.shape)
    weights = image / image.sum()
    dx, dy = x - (weights * x).sum(), y - (weights * y).sum()
    cov = [[(weights * dx * dx).sum(), (weights * dx * dy).sum()]]
    cov.append([cov[0][1], (weights * dy * dy).sum()])
    low, high = np.linalg.eigvalsh(cov)
    return math.sqrt(low / high)


def arm_power(image: np.ndarray, arms: int, rings: list, azimuth: np.ndarray) -> float:
    """Mean relative amplitude of the azimuthal mode `arms` over thin rings of pixels."""
    power = []
    for ring in rings:
        pixels = image[ring]
        power.append(abs((pixels * np.exp(-1j * arms * azimuth[ring])).sum()) / pixels.sum())
    return float(np.mean(power))


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_every_class_renders_its_stored_fluxes(name: str) -> None:
    for seed in range(2):
        params = sample(name, seed)
        image = draw_morphology(params, CONFIG)
        assert image.shape == (3, 64, 64) and image.dtype == np.float32
        assert np.isfinite(image).all() and image.min() > -1e-4 * image.max()
        fluxes = [params[f"flux_{band}"] for band in CONFIG.bands]
        np.testing.assert_allclose(image.sum(axis=(1, 2)), fluxes, rtol=0.04)
        assert params["label"] == LABEL[name]
        assert set(params) == set(PARAMETERS) | {f"flux_{band}" for band in CONFIG.bands}


def test_galaxies_are_reproducible_and_seed_sensitive() -> None:
    for name in ("barred_spiral", "merger", "ring"):
        first, again, other = sample(name, 3), sample(name, 3), sample(name, 4)
        assert first == again and first != other
        np.testing.assert_array_equal(r_band(first), r_band(again))
    image, params = survey.simulate_galaxy(CONFIG, 8)
    image_again, params_again = survey.simulate_galaxy(CONFIG, 8)
    np.testing.assert_array_equal(image, image_again)
    assert params == params_again and params["label"] == LABEL["merger"]


def test_axis_ratios_tell_smooth_and_edge_on_classes_apart() -> None:
    round_q, between_q, cigar_q = (
        values(name, "q") for name in ("smooth_round", "smooth_in_between", "smooth_cigar")
    )
    assert round_q.min() > 0.8 and between_q.min() >= 0.5 and between_q.max() <= 0.8
    assert cigar_q.max() < 0.4
    for name in ("edge_on_no_bulge", "edge_on_with_bulge"):
        assert values(name, "q").max() <= 0.2
    assert np.isnan(values("edge_on_no_bulge", "bulge_frac")).all()
    assert (values("edge_on_with_bulge", "bulge_frac") > 0.1).all()


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("unbarred_tight_spiral", 8, 15), ("unbarred_loose_spiral", 20, 35), ("barred_spiral", 8, 35)],
)
def test_spirals_have_arms_of_their_pitch(name: str, low: float, high: float) -> None:
    # Bars drive two arms.
    assert set(values(name, "arm_count")) == ({2.0} if name == "barred_spiral" else {2.0, 3.0, 4.0})
    pitch = values(name, "pitch_deg")
    assert pitch.min() >= low and pitch.max() <= high
    bar_in_hlr = values(name, "bar_length") / values(name, "hlr")
    if name == "barred_spiral":
        assert bar_in_hlr.min() >= 0.5 and bar_in_hlr.max() <= 1.2
    else:
        assert np.isnan(bar_in_hlr).all()


def test_rings_and_mergers_have_their_features() -> None:
    ring_in_hlr = values("ring", "ring_radius") / values("ring", "hlr")
    assert ring_in_hlr.min() >= 1.0 and ring_in_hlr.max() <= 2.0
    separation = values("merger", "companion_sep")
    assert separation.min() >= 0.5 and separation.max() <= 2.5
    assert values("merger", "companion_flux_ratio").min() >= 1.0
    assert values("merger", "tail_frac").min() > 0


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_parameters_apply_only_where_they_should(name: str) -> None:
    smooth = name.startswith("smooth")
    features = {
        "sersic_n": smooth,
        "arm_count": "spiral" in name,
        "bar_length": name == "barred_spiral",
        "ring_radius": name == "ring",
        "companion_sep": name == "merger",
        "tail_count": name == "merger",
        # Only arms and rings carry the star-forming colours.
        "young_g_r": "spiral" in name or name == "ring",
        "disk_g_r": not smooth,
    }
    for parameter, applies in features.items():
        present = ~np.isnan(values(name, parameter))
        assert present.all() if applies else not present.any(), parameter


@pytest.mark.parametrize("name", ["smooth_round", "smooth_in_between", "smooth_cigar"])
def test_smooth_images_have_the_stored_axis_ratio(name: str) -> None:
    for seed in range(3):
        params = centred(name, seed)
        assert axis_ratio(r_band(params)) == pytest.approx(params["q"], abs=0.07)


@pytest.mark.parametrize("name", ["edge_on_no_bulge", "edge_on_with_bulge"])
def test_edge_on_disks_are_thin(name: str) -> None:
    for seed in range(3):
        assert axis_ratio(r_band(centred(name, seed))) < 0.3


@pytest.mark.parametrize(
    "name", ["unbarred_tight_spiral", "unbarred_loose_spiral", "barred_spiral"]
)
def test_spirals_have_azimuthal_power_at_their_arm_count(name: str) -> None:
    radius, azimuth = polar(CONFIG.stamp_size)
    for seed in range(3):
        spiral = centred(name, seed, q=1.0)
        smooth = spiral | {"arm_strength": math.nan, "bar_frac": math.nan}
        arms, hlr = int(spiral["arm_count"]), spiral["hlr"] / CONFIG.pixel_scale
        # Thin rings: a wide one would average the winding arms away.
        rings = [(radius >= r) & (radius < r + 1) for r in np.arange(3.0, 2.5 * hlr)]
        with_arms = arm_power(r_band(spiral), arms, rings, azimuth)
        assert with_arms > arm_power(r_band(smooth), arms, rings, azimuth) + 0.04


def test_ring_is_brighter_at_its_radius_and_dimmer_inside() -> None:
    radius, _ = polar(CONFIG.stamp_size)
    for seed in range(3):
        ring = centred("ring", seed, q=1.0)
        smooth = ring | {"ring_frac": math.nan}
        ring_px = ring["ring_radius"] / CONFIG.pixel_scale
        at_ring = abs(radius - ring_px) < 1.0
        inside = abs(radius - 0.5 * ring_px) < 1.0
        with_ring, without = r_band(ring), r_band(smooth)
        assert with_ring[at_ring].mean() > 1.8 * without[at_ring].mean()
        assert with_ring[inside].mean() < 0.9 * without[inside].mean()


def test_mergers_are_lopsided_and_smooth_galaxies_are_not() -> None:
    def asymmetry(params: dict[str, float]) -> float:
        image = r_band(params)
        return float(np.abs(image - image[::-1, ::-1]).sum() / image.sum())

    for seed in range(3):
        assert asymmetry(centred("merger", seed)) > 0.25
        assert asymmetry(centred("smooth_in_between", seed)) < 0.02


def test_survey_file_stores_labels_class_names_and_parameters() -> None:
    path = cached_survey(CONFIG, workers=1, progress=False)
    assert check_survey_file(path) == CONFIG
    with h5py.File(path, "r") as file:
        labels = file["label"][()]
        assert labels.dtype.kind == "i"
        np.testing.assert_array_equal(labels, np.arange(20) % 10)
        assert json.loads(file.attrs["class_names"]) == list(CLASS_NAMES)
        assert set(file["params"]) == set(PARAMETERS) - {"label"} | {"flux_g", "flux_r", "flux_z"}
        arm_count = file["params/arm_count"][()]
        assert np.isnan(arm_count[labels == LABEL["smooth_round"]]).all()
        assert set(arm_count[labels == LABEL["barred_spiral"]]) == {2.0}
        image, params = survey.simulate_galaxy(CONFIG, 17)
        np.testing.assert_array_equal(file["clean"][17], image)
        assert file["params/pitch_deg"][17] == params["pitch_deg"]


def test_class_weights_choose_the_classes() -> None:
    config = SurveyConfig(**{**vars(CONFIG), "class_weights": {"merger": 1, "ring": 3}})
    labels = [survey.simulate_galaxy(config, index)[1]["label"] for index in range(40)]
    assert set(labels) == {LABEL["merger"], LABEL["ring"]}
    assert labels.count(LABEL["ring"]) > labels.count(LABEL["merger"])


def test_digest_keeps_old_keys_and_sees_the_new_fields() -> None:
    # The key of the default bulge + disk survey from before the morphology catalogue existed.
    assert SurveyConfig().digest() == "d6f566e4bb901f31"
    assert "catalogue" not in SurveyConfig().to_json()
    morphology = SurveyConfig(catalogue="morphology")
    weighted = SurveyConfig(catalogue="morphology", class_weights={"ring": 2})
    assert len({SurveyConfig().digest(), morphology.digest(), weighted.digest()}) == 3
    same = SurveyConfig(catalogue="morphology", class_weights={"ring": 2.0})
    assert same.digest() == weighted.digest() and hash(same) == hash(weighted)


@pytest.mark.parametrize(
    ("fields", "culprit"),
    [
        ({"class_weights": {"spiral": 1.0}}, "'spiral'"),
        ({"class_weights": {"merger": -1.0}}, r"class_weights\['merger'\]=-1.0"),
        ({"class_weights": {"merger": 0.0}}, "positive weight"),
        ({"catalogue": "bulge_disk", "class_weights": {"ring": 1.0}}, "catalogue='morphology'"),
        ({"catalogue": "spirals"}, "catalogue='spirals'"),
    ],
)
def test_bad_class_settings_name_the_culprit(fields: dict, culprit: str) -> None:
    with pytest.raises(ConfigError, match=culprit) as error:
        SurveyConfig(**{"catalogue": "morphology", **fields})
    assert "\n" not in str(error.value)


def test_gallery_is_written(tmp_path: Path) -> None:
    config = SurveyConfig(catalogue="morphology", stamp_size=32)
    path = save_morphology_gallery(tmp_path / "gallery.png", config, per_class=1, psf_fwhm=1.2)
    assert path.read_bytes().startswith(b"\x89PNG")
