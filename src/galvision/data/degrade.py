"""On-device degradations and augmentations: PSF blur and noise (kornia), exact rotations."""

from __future__ import annotations

import torch
from kornia.filters import filter2d
from torch import nn

from galvision.data import keys
from galvision.data.intensity import DATA_RANGE, to_display

# DECaLS-like per-pixel noise in nanomaggies at 0.262" (5-sigma point-source depths
# g 24.0, r 23.4, z 22.5 for 1.2" seeing) and electrons per nanomaggy for a 90 s exposure.
DECALS_SKY_SIGMA = {"g": 0.0073, "r": 0.0127, "z": 0.029}
DECALS_GAIN = {"g": 2600.0, "r": 3600.0, "z": 1400.0}


def convolve(images: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Convolve (B, C, H, W) images with per-image, per-band kernels (B or 1, C, k, k)."""
    b, c, h, w = images.shape
    kernels = kernels.expand(b, -1, -1, -1).to(images.dtype)
    # filter2d correlates; flipping the kernel makes it a true convolution.
    flipped = torch.flip(kernels, dims=(-2, -1)).reshape(b * c, *kernels.shape[-2:])
    out = filter2d(images.reshape(b * c, 1, h, w), flipped, border_type="constant")
    return out.reshape(b, c, h, w)


class Observation(nn.Module):
    """Observe clean galaxies like a ground-based survey: PSF blur, sky, read and Poisson noise.

    Per image the noise is scaled by a factor drawn log-uniformly from ``noise_scale`` (so the
    signal-to-noise ratio varies across a set); ``noise_scale=(1, 1)`` gives the survey depth.

    Args:
        sky_sigma: background (sky) noise per pixel and band, nanomaggies.
        read_sigma: read noise per pixel, nanomaggies.
        gain: electrons per nanomaggy per band, setting the Poisson noise of the source.
        noise_scale: range of the per-image noise multiplier.
        seed: base seed of the evaluation noise (training noise is fresh every step).
    """

    def __init__(
        self,
        sky_sigma: tuple[float, ...] = tuple(DECALS_SKY_SIGMA.values()),
        read_sigma: float = 0.002,
        gain: tuple[float, ...] = tuple(DECALS_GAIN.values()),
        noise_scale: tuple[float, float] = (0.5, 2.0),
        seed: int = 20261123,
    ) -> None:
        super().__init__()
        if len(sky_sigma) != len(gain):
            raise ValueError(f"Observation: {len(sky_sigma)} sky_sigma values, {len(gain)} gains")
        if not 0 < noise_scale[0] <= noise_scale[1]:
            raise ValueError(f"Observation: noise_scale={noise_scale} must be 0 < lo <= hi")
        self.register_buffer("sky_sigma", torch.tensor(sky_sigma), persistent=False)
        self.register_buffer("gain", torch.tensor(gain), persistent=False)
        self.read_sigma = read_sigma
        self.noise_scale = noise_scale
        self.seed = seed

    @property
    def bands(self) -> int:
        """Number of bands this observation model describes."""
        return len(self.sky_sigma)

    def forward(self, batch: dict, deterministic: bool = False) -> dict:
        """Add ``OBSERVED`` and ``TARGET_FLUX`` to a batch of ``CLEAN`` galaxies and PSFs.

        With ``deterministic`` the noise of each image is seeded by its ``INDEX``, so an
        evaluation set is the same at every epoch, on any device count and batch size.
        """
        clean = batch[keys.CLEAN]
        if clean.shape[1] != self.bands:
            raise ValueError(
                f"Observation: data has {clean.shape[1]} bands, sky_sigma describes {self.bands}"
            )
        blurred = convolve(clean, batch[keys.PSF])
        unit_noise, log_u = self._draw(clean, batch.get(keys.INDEX), deterministic)
        lo, hi = torch.tensor(self.noise_scale, dtype=clean.dtype).log()
        scale = torch.exp(lo + (hi - lo) * log_u)[:, None, None, None]
        variance = (
            self.sky_sigma[None, :, None, None] ** 2
            + self.read_sigma**2
            + blurred.clamp(min=0) / self.gain[None, :, None, None]
        )
        observed = blurred + scale * variance.sqrt() * unit_noise
        return {
            **batch,
            keys.OBSERVED: observed,
            keys.TARGET_FLUX: convolve(clean, batch[keys.TARGET_PSF]),
        }

    def _draw(
        self, like: torch.Tensor, index: torch.Tensor | None, deterministic: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Unit Gaussian noise like ``like`` and one uniform number per image."""
        if not deterministic:
            return torch.randn_like(like), torch.rand(len(like), device=like.device)
        if index is None:
            raise KeyError(f"Observation: deterministic noise needs the batch key {keys.INDEX!r}")
        noise, uniform = [], []
        for i in index.tolist():
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + int(i))
            uniform.append(torch.rand(1, generator=generator))
            noise.append(torch.randn(like.shape[1:], generator=generator))
        return (
            torch.stack(noise).to(like.device, like.dtype),
            torch.cat(uniform).to(like.device, like.dtype),
        )


def observe_batch(observation: Observation, batch: dict, stage: str) -> dict:
    """Observe a batch of ``CLEAN`` galaxies, adding display-space ``IMAGE`` and ``TARGET``.

    Batches without ``CLEAN`` (real observations) pass unchanged. Noise is fresh in the
    ``train`` stage and seeded per galaxy in every other stage.
    """
    if keys.CLEAN not in batch:
        return batch
    batch = observation(batch, deterministic=stage != "train")
    batch[keys.IMAGE] = to_display(batch[keys.OBSERVED])
    batch[keys.TARGET] = to_display(batch[keys.TARGET_FLUX]).clamp(0, DATA_RANGE)
    return batch


DIHEDRAL_ORDER = 8  # four right-angle rotations, each with and without a mirror flip


def dihedral(images: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k``-th (0-7) of the 8 rotations and flips of square images (..., H, W)."""
    rotated = torch.rot90(images, k % 4, dims=(-2, -1))
    return rotated.flip(-1) if k >= 4 else rotated


def random_dihedral(images: torch.Tensor) -> torch.Tensor:
    """Each image of (B, C, H, W) under one of the 8 dihedral transforms drawn uniformly."""
    choice = torch.randint(DIHEDRAL_ORDER, (len(images),), device=images.device)
    out = images.clone()
    for k in range(DIHEDRAL_ORDER):
        chosen = choice == k
        if chosen.any():
            out[chosen] = dihedral(images[chosen], k)
    return out
