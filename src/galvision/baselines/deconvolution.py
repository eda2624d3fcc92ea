"""Classical deconvolution baselines (Wiener, Richardson-Lucy) run with the true PSF."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from scipy.signal import fftconvolve
from skimage.restoration import richardson_lucy, wiener
from torchmetrics.functional.image import peak_signal_noise_ratio

from galvision.data.intensity import DATA_RANGE, ArrayLike, to_display
from galvision.errors import ConfigError, DataError

# At sky-limited depth the display-space optimum sits near balance 10 and 2-3 RL iterations.
WIENER_BALANCES: tuple[float, ...] = tuple(float(b) for b in np.logspace(-3, 2, 11))
RL_ITERATIONS: tuple[int, ...] = (1, 2, 3, 5, 10, 20, 30, 50, 80)

Restorer = Callable[..., np.ndarray]


def reconvolve(restored: np.ndarray, target_psf: np.ndarray) -> np.ndarray:
    """Convolve (N, C, H, W) images band by band with (N or 1, C, k, k) PSFs ('same' size)."""
    restored = np.asarray(restored, dtype=np.float32)
    target_psf = np.asarray(target_psf, dtype=np.float32)
    _check_psf(restored, target_psf, "target_psf")
    out = fftconvolve(restored, target_psf, mode="same", axes=(-2, -1))
    return out.astype(np.float32, copy=False)


def wiener_restore(
    observed: np.ndarray,
    psf: np.ndarray,
    balance: float,
    target_psf: np.ndarray | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """Wiener-Hunt deconvolution (Laplacian regulariser) of linear-flux images by their PSFs."""

    def restore(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        return wiener(image, kernel, balance, clip=False)

    return _restore_all(restore, observed, psf, target_psf, workers)


def richardson_lucy_restore(
    observed: np.ndarray,
    psf: np.ndarray,
    num_iter: int,
    target_psf: np.ndarray | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """Richardson-Lucy deconvolution of linear-flux images by their PSFs."""

    def restore(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        # RL needs positive data: lift the minimum just above zero (a larger, noise-scaled
        # pedestal measured no better), then remove the pedestal again.
        pedestal = 1e-6 - min(float(image.min()), 0.0)
        # Reflected margins keep the zero-padded convolutions of RL from inventing edge flux.
        pad = kernel.shape[0] // 2
        lifted = np.pad(image + pedestal, pad, mode="reflect")
        lifted = richardson_lucy(lifted, kernel, int(num_iter), clip=False, filter_epsilon=1e-12)
        return lifted[pad : pad + image.shape[0], pad : pad + image.shape[1]] - pedestal

    return _restore_all(restore, observed, psf, target_psf, workers)


def display_psnr(flux: ArrayLike, target_display: ArrayLike) -> torch.Tensor:
    """Per-image PSNR (N,) in display space of linear-flux predictions against display targets."""
    prediction = torch.as_tensor(np.asarray(to_display(flux)), dtype=torch.float32)
    target = torch.as_tensor(np.asarray(target_display), dtype=torch.float32)
    return peak_signal_noise_ratio(
        prediction.clamp(0.0, 1.0),
        target,
        data_range=DATA_RANGE,
        reduction="none",
        dim=tuple(range(1, target.ndim)),
    )


def tune_baseline(
    method: Restorer,
    observed: np.ndarray,
    psf: np.ndarray,
    target_psf: np.ndarray,
    target_display: ArrayLike,
    grid: Sequence[float] | None = None,
    max_images: int | None = 64,
    workers: int | None = None,
) -> tuple[float, dict[float, float]]:
    """Pick the grid value with the best mean display-space PSNR on the first ``max_images``.

    Returns the best value and the table {value: mean PSNR in dB}. ``grid`` defaults to
    ``WIENER_BALANCES`` for `wiener_restore` and ``RL_ITERATIONS`` for `richardson_lucy_restore`.
    """
    if grid is None:
        grid = DEFAULT_GRIDS.get(method)
        if grid is None:
            raise ConfigError(f"tune_baseline: no default grid for {method!r}; pass grid=")
    subset = slice(0, max_images)
    observed, target = observed[subset], target_display[subset]
    psf, target_psf = _first(psf, max_images), _first(target_psf, max_images)
    table = {}
    for value in grid:
        restored = method(observed, psf, value, target_psf=target_psf, workers=workers)
        table[value] = float(display_psnr(restored, target).mean())
    best = max(table, key=table.__getitem__)
    return best, table


DEFAULT_GRIDS: dict[Restorer, Sequence[float]] = {
    wiener_restore: WIENER_BALANCES,
    richardson_lucy_restore: RL_ITERATIONS,
}


def _restore_all(
    restore: Callable[[np.ndarray, np.ndarray], np.ndarray],
    observed: np.ndarray,
    psf: np.ndarray,
    target_psf: np.ndarray | None,
    workers: int | None,
) -> np.ndarray:
    """Apply a 2-D restoration to every image and band, then optionally reconvolve."""
    observed = np.asarray(observed, dtype=np.float32)
    if observed.ndim != 4:
        raise DataError(f"observed must be (N, C, H, W), got shape {observed.shape}")
    psf = _check_psf(observed, np.asarray(psf, dtype=np.float32), "psf")
    psf = np.broadcast_to(psf, observed.shape[:2] + psf.shape[-2:])
    out = np.empty_like(observed)

    def run(index: int) -> None:
        for band in range(observed.shape[1]):
            out[index, band] = restore(observed[index, band], psf[index, band])

    with ThreadPoolExecutor(workers or min(4, os.cpu_count() or 1)) as pool:
        list(pool.map(run, range(observed.shape[0])))
    return out if target_psf is None else reconvolve(out, target_psf)


def _check_psf(images: np.ndarray, psf: np.ndarray, name: str) -> np.ndarray:
    """Return the PSF if it broadcasts against (N, C) images, else raise a DataError."""
    n, c = images.shape[:2]
    if psf.ndim != 4 or psf.shape[0] not in (1, n) or psf.shape[1] not in (1, c):
        raise DataError(f"{name} must be (N or 1, C or 1, k, k) for images {images.shape}")
    return psf


def _first(array: np.ndarray, count: int | None) -> np.ndarray:
    """The first ``count`` rows of a per-image array, leaving a broadcast row of 1 alone."""
    return array if array.shape[0] == 1 else array[:count]
