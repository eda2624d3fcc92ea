"""Data consistency: does a restoration, blurred again by the PSF, explain the observation?

A learnt restoration can fail on images unlike its training set and, unlike Richardson–Lucy,
nothing in it ties the output to the data. Blurring the restoration by the observing PSF and
comparing it with the observation, in units of the noise, measures that tie: the reduced χ²
is about the noise scale squared for a restoration that explains the data, and far above it
for one that invents or loses structure. ``guard`` keeps the model's restoration where it
explains the data about as well as a fallback (Richardson–Lucy) does, and takes the fallback
elsewhere.
"""

from __future__ import annotations

import torch

from galvision.transforms.observation import convolve

GUARD_FACTOR = 2.0  # the model may leave up to twice the fallback's χ² before it is replaced


def reduced_chi2(
    restored: torch.Tensor,
    observed: torch.Tensor,
    psf: torch.Tensor,
    sky_sigma: torch.Tensor,
    gain: torch.Tensor,
) -> torch.Tensor:
    """(N,) mean squared residual over the noise variance of (N, C, H, W) linear-flux images.

    ``psf`` is (N, C, k, k); ``sky_sigma`` and ``gain`` are (N, C), the sky and Poisson terms.
    """
    blurred = convolve(restored, psf)
    variance = sky_sigma[..., None, None] ** 2 + blurred.clamp(min=0) / gain[..., None, None]
    return ((observed - blurred) ** 2 / variance).mean((1, 2, 3))


def guard(
    restored: torch.Tensor,
    fallback: torch.Tensor,
    observed: torch.Tensor,
    psf: torch.Tensor,
    sky_sigma: torch.Tensor,
    gain: torch.Tensor,
    factor: float = GUARD_FACTOR,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The restoration, or the fallback where the restoration's χ² passes ``factor`` × its own.

    All images are linear flux; returns the guarded images and which ones fell back (N,).
    """
    model = reduced_chi2(restored, observed, psf, sky_sigma, gain)
    safe = reduced_chi2(fallback, observed, psf, sky_sigma, gain)
    replaced = model > factor * safe
    return torch.where(replaced[:, None, None, None], fallback, restored), replaced
