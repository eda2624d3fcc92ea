"""Galaxy Zoo framing and survey presets in the simulator: scales, flux, PSFs, noise, display."""

from __future__ import annotations

import math
from pathlib import Path

import galsim
import numpy as np
import pytest
import torch

from galvision.data import keys
from galvision.data.datamodules import SurveyDataset
from galvision.data.simulate import SurveyConfig, cached_survey
from galvision.data.simulate.framing import noise_kernel, r90, r90_over_r50
from galvision.data.simulate.presets import load_preset
from galvision.data.simulate.psf import SPACE, draw_ground_psf
from galvision.data.simulate.survey import simulate_galaxy

SURVEYS = Path(__file__).resolve().parents[2] / "configs" / "survey"
SDSS = load_preset(SURVEYS / "sdss.yaml")
FRAMED = SurveyConfig(
    catalogue="morphology", preset=SDSS, n_galaxies=12, n_psfs=64, psf_size=21,
    mag_range=(15.0, 17.0),
)  # fmt: skip

pytestmark = pytest.mark.usefixtures("fresh_cache")


def test_r90_over_r50_of_an_exponential_matches_galsim() -> None:
    image = galsim.Exponential(half_light_radius=1.0).drawImage(nx=501, ny=501, scale=0.04)
    axis = (np.arange(501) - 250) * 0.04
    radius = np.hypot(axis[None], axis[:, None]).ravel()
    order = np.argsort(radius)
    enclosed = np.cumsum(image.array.ravel()[order]) / image.array.sum()
    measured = radius[order][np.searchsorted(enclosed, 0.9)]
    assert r90_over_r50(1.0) == pytest.approx(2.3177, abs=1e-3)
    assert measured == pytest.approx(r90_over_r50(1.0), rel=0.02)


def test_noise_kernel_keeps_interpolated_level_or_averages_down() -> None:
    up, down = noise_kernel(2.5), noise_kernel(0.5)
    assert math.sqrt((up**2).sum()) == pytest.approx(2 / 3, rel=1e-5)
    assert np.allclose(up, up[:, ::-1, ::-1])
    assert down.sum() == pytest.approx(0.5) and np.count_nonzero(down) == 1


def test_framed_galaxy_spans_the_frame_and_keeps_its_flux() -> None:
    for index in range(FRAMED.n_galaxies):
        image, params = simulate_galaxy(FRAMED, index)
        scale = params["frame_scale"]
        assert scale == pytest.approx(2.54 * r90(params) / 64)
        if math.isnan(params["sersic_n"]):
            continue  # disks, mergers and tails may reach past a frame set by the main body
        # Pixels hold survey-pixel surface brightness: area-scaled, they sum to the flux.
        flux = image.sum(axis=(1, 2)) * (scale / SDSS.pixel_scale) ** 2
        total = np.array([params[f"flux_{band}"] for band in FRAMED.bands])
        assert np.all(flux / total > 0.85) and np.all(flux / total < 1.0 + 1e-3)


def test_framed_samples_get_seeing_in_their_own_pixels_noise_kernel_and_display() -> None:
    path = cached_survey(FRAMED, workers=1, progress=False)
    dataset = SurveyDataset(
        path, np.arange(12), train=False, bands=FRAMED.bands, seed=0, preset=SDSS
    )
    low, high = FRAMED.psf_bank_fwhm_range
    assert (low, high) == pytest.approx((1.0 * 0.396, 12.0 * 0.396))
    bank_pixels = dataset.psf_fwhm.numpy() / SDSS.pixel_scale
    checked = 0
    for index in range(12):
        sample = dataset[index]
        scale = float(dataset.frame_scale[index])
        # The sample's FWHM is the seeing on the sky: its PSF's width in pixels times the scale.
        seeing = float(sample[keys.PSF_FWHM])
        if bank_pixels.min() * scale <= 1.0 and bank_pixels.max() * scale >= 2.0:
            assert 0.9 <= seeing <= 2.1
            checked += 1
        assert sample[keys.NOISE_KERNEL].shape[0] == 1
        shown = [8.0, 0.8, 90.0, 2.0, 1.4, 1.3, 0.0, 0.0, 0.0]
        assert sample[keys.DISPLAY].tolist() == pytest.approx(shown)
    assert checked >= 6
    # Evaluation draws are fixed by the index.
    assert torch.equal(dataset[3][keys.PSF], dataset[3][keys.PSF])


def test_space_preset_draws_diffraction_psfs() -> None:
    hst = load_preset(SURVEYS / "hst.yaml")
    config = SurveyConfig(preset=hst, n_galaxies=2, n_psfs=2, psf_size=31)
    psf = draw_ground_psf(0.03, 0.0, 0.0, SPACE, 3.0, config)
    assert psf.shape == (3, 31, 31)
    assert psf.sum(axis=(1, 2)) == pytest.approx([1.0, 1.0, 1.0], rel=1e-5)
    # Diffraction widens with wavelength: the i-band core holds less light than the g-band's.
    assert psf[2, 15, 15] < psf[0, 15, 15]
