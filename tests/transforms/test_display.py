"""Survey display: the Lupton RGB stretch against astropy and its formula, JPEG, Observe."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from astropy.visualization import make_lupton_rgb

from galvision.data import keys
from galvision.data.intensity import to_display
from galvision.transforms import Observe
from galvision.transforms.display import jpeg, lupton_display, survey_display


def _lupton(
    flux: torch.Tensor, q: float, stretch: float, scales=(1.0, 1.0, 1.0), minimum=None
) -> torch.Tensor:
    b = len(flux)
    return lupton_display(
        flux,
        torch.full((b,), q),
        torch.full((b,), stretch),
        torch.tensor([scales] * b),
        None if minimum is None else torch.tensor([minimum] * b),
    )


def test_lupton_matches_its_formula_on_a_grey_pixel() -> None:
    # Equal bands: every channel is 0.1 asinh(Q I / stretch) / asinh(0.1 Q).
    flux = torch.full((1, 3, 1, 1), 0.5)
    expected = 0.1 * math.asinh(8 * 0.5 / 2.0) / math.asinh(0.8)
    assert _lupton(flux, 8.0, 2.0)[0, :, 0, 0].tolist() == pytest.approx([expected] * 3)


def test_lupton_keeps_colour_and_scales_saturated_pixels_down_whole() -> None:
    flux = torch.tensor([1.0, 2.0, 4.0]).reshape(1, 3, 1, 1) * 1000
    rgb = _lupton(flux, 8.0, 0.5)[0, :, 0, 0]
    assert rgb.max().item() == pytest.approx(1.0)
    assert (rgb / rgb[2]).tolist() == pytest.approx([0.25, 0.5, 1.0])


def test_lupton_equals_astropy_make_lupton_rgb() -> None:
    rng = np.random.default_rng(0)
    flux = rng.gamma(0.6, 1.5, size=(3, 24, 24)).astype(np.float32) - 0.2
    scales = (2.0, 1.4, 1.3)
    ours = _lupton(torch.from_numpy(flux)[None], 8.0, 0.8, scales)[0].numpy()
    # astropy takes red, green, blue: the bands reversed; it truncates to 8 bits.
    scaled = [flux[band] * scales[band] for band in (2, 1, 0)]
    theirs = make_lupton_rgb(*scaled, minimum=0, stretch=0.8, Q=8).transpose(2, 0, 1)[::-1]
    assert np.abs(np.floor(ours * 255 + 1e-3) - theirs).max() <= 1


def test_lupton_minimum_equals_astropy_and_lifts_the_sky() -> None:
    rng = np.random.default_rng(1)
    sky = rng.normal(0.0, 0.02, size=(3, 24, 24)).astype(np.float32)
    scales, minimum = (2.0, 1.5, 1.5), (-0.006, -0.012, -0.0105)
    ours = _lupton(torch.from_numpy(sky)[None], 8.0, 0.5, scales, minimum)[0].numpy()
    scaled = [sky[band] * scales[band] for band in (2, 1, 0)]
    theirs = make_lupton_rgb(*scaled, minimum=list(minimum[::-1]), stretch=0.5, Q=8)
    assert np.abs(np.floor(ours * 255 + 1e-3) - theirs.transpose(2, 0, 1)[::-1]).max() <= 1
    black = _lupton(torch.from_numpy(sky)[None], 8.0, 0.5, scales)[0].numpy()
    assert (ours == 0).mean() < (black == 0).mean() - 0.1 and ours.mean() > black.mean()


def test_jpeg_compresses_lightly_at_high_quality_and_keeps_the_range() -> None:
    axis = torch.linspace(-1, 1, 32)
    blob = torch.exp(-(axis[:, None] ** 2 + axis[None] ** 2) / 0.3)
    smooth = torch.stack([0.5 * blob, 0.7 * blob, 0.9 * blob])[None]
    out = jpeg(smooth, torch.tensor([95.0]))
    assert out.shape == smooth.shape
    assert (out - smooth).abs().mean() < 0.01
    assert (jpeg(smooth, torch.tensor([10.0])) - smooth).abs().mean() > (out - smooth).abs().mean()


def test_survey_display_without_rows_is_galvision_display_space() -> None:
    flux = torch.rand(2, 3, 8, 8)
    assert torch.equal(survey_display(flux, None), to_display(flux))


def test_observe_shows_each_sample_as_its_row_says() -> None:
    clean = torch.rand(2, 3, 16, 16) * 5
    psf = torch.zeros(2, 3, 5, 5)
    psf[..., 2, 2] = 1
    row = torch.tensor([8.0, 0.8, 0.0, 2.0, 1.4, 1.3, -0.01, 0.0, 0.01])
    batch = {
        keys.CLEAN: clean,
        keys.PSF: psf,
        keys.TARGET_PSF: psf,
        keys.SKY_SIGMA: torch.full((2, 3), 1e-6),
        keys.GAIN: torch.full((2, 3), 1e9),
        keys.INDEX: torch.arange(2),
        keys.DISPLAY: row.expand(2, -1),
    }
    out = Observe(read_sigma=0.0, noise_scale=(1, 1))(batch, "test")
    expected = _lupton(out[keys.OBSERVED], 8.0, 0.8, (2.0, 1.4, 1.3), (-0.01, 0.0, 0.01))
    assert torch.allclose(out[keys.IMAGE], expected)
    assert out[keys.IMAGE].min() >= 0 and out[keys.IMAGE].max() <= 1
