"""Tests for the classical deconvolution baselines."""

from __future__ import annotations

import numpy as np
import pytest

from galvision.baselines import (
    display_psnr,
    reconvolve,
    richardson_lucy_restore,
    tune_baseline,
    wiener_restore,
)
from galvision.data.intensity import to_display, to_flux
from galvision.errors import DataError

SIZE = 48


def gaussian_kernel(sigma: float, size: int) -> np.ndarray:
    """Unit-sum centred 2-D Gaussian of odd ``size``."""
    axis = np.arange(size) - size // 2
    kernel = np.exp(-(axis[:, None] ** 2 + axis[None, :] ** 2) / (2 * sigma**2))
    return (kernel / kernel.sum()).astype(np.float32)


@pytest.fixture(scope="module")
def scene() -> dict[str, np.ndarray]:
    """Compact sources of 20-60 nanomaggies blurred by a wide Gaussian PSF, 2 bands."""
    rng = np.random.default_rng(0)
    clean = np.zeros((4, 2, SIZE, SIZE), np.float32)
    offsets = rng.integers(-4, 5, size=(4, 2))
    for i, (dy, dx) in enumerate(offsets):
        source = gaussian_kernel(1.0, 15) * rng.uniform(20, 60)
        y, x = SIZE // 2 + dy - 7, SIZE // 2 + dx - 7
        clean[i, :, y : y + 15, x : x + 15] = source
    psf = np.broadcast_to(gaussian_kernel(2.5, 21), (4, 2, 21, 21)).copy()
    target_psf = gaussian_kernel(0.6, 5)[None, None].repeat(2, axis=1)
    blurred = reconvolve(clean, psf)
    noisy = blurred + rng.normal(0.0, 0.01, blurred.shape).astype(np.float32)
    target = reconvolve(clean, target_psf)
    return dict(
        clean=clean,
        psf=psf,
        target_psf=target_psf,
        blurred=blurred,
        noisy=noisy,
        target_display=np.clip(to_display(target), 0.0, 1.0),
    )


def test_reconvolve_preserves_flux(scene: dict[str, np.ndarray]) -> None:
    flux = scene["clean"].sum(axis=(-2, -1))
    np.testing.assert_allclose(scene["blurred"].sum(axis=(-2, -1)), flux, rtol=1e-4)
    assert scene["blurred"].max() < 0.5 * scene["clean"].max()


@pytest.mark.parametrize(
    ("method", "value", "min_gain"),
    [(wiener_restore, 0.03, 0.5), (richardson_lucy_restore, 30, 5.0)],
)
def test_restorers_sharpen_a_blurred_source(method, value, min_gain, scene) -> None:
    restored = method(scene["noisy"], scene["psf"], value, target_psf=scene["target_psf"])
    assert restored.shape == scene["noisy"].shape and restored.dtype == np.float32
    peaks = restored.max(axis=(-2, -1))
    assert np.all(peaks > 1.5 * scene["blurred"].max(axis=(-2, -1)))
    gain = display_psnr(restored, scene["target_display"]) - display_psnr(
        scene["noisy"], scene["target_display"]
    )
    assert gain.min() > min_gain


def test_richardson_lucy_keeps_flux_and_no_edge_artefacts(scene: dict[str, np.ndarray]) -> None:
    restored = richardson_lucy_restore(scene["noisy"], scene["psf"], 20)
    np.testing.assert_allclose(
        restored.sum(axis=(-2, -1)), scene["clean"].sum(axis=(-2, -1)), rtol=0.05
    )
    edges = np.concatenate([restored[..., :3, :].ravel(), restored[..., -3:, :].ravel()])
    assert np.abs(edges).max() < 0.1


def test_display_psnr_matches_known_error() -> None:
    target = np.random.default_rng(1).uniform(0.2, 0.8, (3, 2, 8, 8)).astype(np.float32)
    psnr = display_psnr(to_flux(target + 0.1), target)
    np.testing.assert_allclose(psnr.numpy(), [20.0, 20.0, 20.0], atol=1e-3)


def test_tuner_picks_the_best_grid_value(scene: dict[str, np.ndarray]) -> None:
    def offset_restorer(observed, psf, value, target_psf=None, workers=None):
        return to_flux(scene["target_display"][: len(observed)]) + value

    best, table = tune_baseline(
        offset_restorer,
        scene["noisy"],
        scene["psf"],
        scene["target_psf"],
        scene["target_display"],
        grid=(0.2, 0.01, 0.05),
        max_images=2,
    )
    assert best == 0.01
    assert list(table) == [0.2, 0.01, 0.05] and table[0.01] > table[0.05] > table[0.2]


def test_tuner_runs_richardson_lucy_longer_on_noiseless_data(scene) -> None:
    grid = (2, 10, 60)
    args = (scene["psf"], scene["target_psf"], scene["target_display"], grid)
    noiseless, _ = tune_baseline(richardson_lucy_restore, scene["blurred"], *args)
    noise = np.random.default_rng(2).normal(0.0, 0.3, scene["blurred"].shape)
    noisy, _ = tune_baseline(richardson_lucy_restore, scene["blurred"] + noise, *args)
    assert noiseless == 60 and noisy < noiseless


def test_mismatched_psf_is_a_data_error(scene: dict[str, np.ndarray]) -> None:
    with pytest.raises(DataError, match="psf must be"):
        wiener_restore(scene["noisy"], scene["psf"][:, :, None], 0.1)
