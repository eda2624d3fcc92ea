"""Observe clean galaxies as a survey does: PSF blur, sky, read and Poisson noise (kornia)."""

from __future__ import annotations

import torch
from kornia.filters import filter2d

from galvision.data import keys
from galvision.data.intensity import DATA_RANGE, to_display
from galvision.data.keys import require
from galvision.errors import ConfigError
from galvision.transforms.base import (
    TRAIN,
    BatchTransform,
    evaluation_indices,
    sample_generator,
)
from galvision.transforms.display import survey_display

NOISE_REMEDY = "the datamodule serves each band's noise (galvision.data.noise)"


def convolve(images: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Convolve (B, C, H, W) images with per-image, per-band kernels (B or 1, C, k, k)."""
    b, c, h, w = images.shape
    kernels = kernels.expand(b, -1, -1, -1).to(images.dtype)
    # filter2d correlates; flipping the kernel makes it a true convolution.
    flipped = torch.flip(kernels, dims=(-2, -1)).reshape(b * c, *kernels.shape[-2:])
    out = filter2d(images.reshape(b * c, 1, h, w), flipped, border_type="constant")
    return out.reshape(b, c, h, w)


class Observe(BatchTransform):
    """Observe ``CLEAN`` galaxies through their ``PSF`` with the noise the batch describes.

    Batches without ``CLEAN`` (real observations, which hold their ``IMAGE`` already) pass
    unchanged. The noise of each band comes with the data: ``SKY_SIGMA`` and ``GAIN`` per
    sample, looked up by band name by the datamodule, so a survey of r, i, z bands gets r, i,
    z noise; a ``NOISE_KERNEL`` correlates it as resampling does. Per image the noise is
    scaled by a factor drawn log-uniformly from ``noise_scale``, so the signal-to-noise ratio
    varies across a set; ``(1, 1)`` gives the survey depth. Adds ``OBSERVED`` and
    ``TARGET_FLUX`` (the galaxy through ``TARGET_PSF``) in linear flux, ``IMAGE`` as the survey
    displays the observation (``transforms.display``; galvision's display space unless the
    samples carry a ``DISPLAY`` row) and ``TARGET`` in display space.

    Args:
        read_sigma: read noise per pixel, nanomaggies.
        noise_scale: range of the per-image noise multiplier.
        seed: base seed of the evaluation noise.
    """

    def __init__(
        self,
        read_sigma: float = 0.002,
        noise_scale: tuple[float, float] = (0.5, 2.0),
        seed: int = 20261123,
    ) -> None:
        if not 0 < noise_scale[0] <= noise_scale[1]:
            raise ConfigError(f"Observe: noise_scale={list(noise_scale)} must be 0 < low <= high")
        if read_sigma < 0:
            raise ConfigError(f"Observe: read_sigma={read_sigma} must not be negative")
        self.read_sigma = read_sigma
        self.noise_scale = tuple(noise_scale)
        self.seed = seed

    def __call__(self, batch: dict, stage: str) -> dict:
        """The batch with its observation; noise fresh in training, seeded by index otherwise."""
        if keys.CLEAN not in batch:
            return batch
        clean = batch[keys.CLEAN]
        psf = require(batch, keys.PSF, "Observe")
        sky = require(batch, keys.SKY_SIGMA, "Observe", NOISE_REMEDY).to(clean)
        gain = require(batch, keys.GAIN, "Observe", NOISE_REMEDY).to(clean)
        blurred = convolve(clean, psf)
        index = None if stage == TRAIN else evaluation_indices(batch, "Observe")
        unit_noise, uniform = self._draw(clean, index)
        if keys.NOISE_KERNEL in batch:
            kernel = batch[keys.NOISE_KERNEL].expand(-1, clean.shape[1], -1, -1)
            unit_noise = convolve(unit_noise, kernel)
        low, high = torch.tensor(self.noise_scale, dtype=clean.dtype).log()
        scale = torch.exp(low + (high - low) * uniform)[:, None, None, None]
        variance = (
            sky[..., None, None] ** 2
            + self.read_sigma**2
            + blurred.clamp(min=0) / gain[..., None, None]
        )
        observed = blurred + scale * variance.sqrt() * unit_noise
        target = convolve(clean, require(batch, keys.TARGET_PSF, "Observe"))
        return {
            **batch,
            keys.OBSERVED: observed,
            keys.TARGET_FLUX: target,
            keys.IMAGE: survey_display(observed, batch.get(keys.DISPLAY)),
            keys.TARGET: to_display(target).clamp(0, DATA_RANGE),
        }

    def _draw(
        self, like: torch.Tensor, index: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Unit Gaussian noise like ``like`` and one uniform number per image."""
        if index is None:
            return torch.randn_like(like), torch.rand(len(like), device=like.device)
        noise, uniform = [], []
        for i in index.tolist():
            generator = sample_generator(self.seed, i)
            uniform.append(torch.rand(1, generator=generator))
            noise.append(torch.randn(like.shape[1:], generator=generator))
        return torch.stack(noise).to(like), torch.cat(uniform).to(like)
