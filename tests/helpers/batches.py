"""Hand-made batches of clean galaxies, and batches prepared as a task's transforms make them."""

import torch

from galvision.data import keys
from galvision.data.noise import band_noise
from galvision.tasks import GalaxyTask, MaskedAutoencoderTask
from galvision.transforms import apply_transforms


def simulated_batch(n: int = 4, first: int = 0, scale: float = 1.0) -> dict:
    """``n`` random clean 3-band 32×32 galaxies through a small PSF, indices from ``first``."""
    psf = torch.zeros(n, 3, 5, 5)
    psf[:, :, 2, 2] = 0.5
    psf[:, :, 1:4, 1:4] += 0.5 / 9
    target_psf = torch.zeros(n, 3, 3, 3)
    target_psf[:, :, 1, 1] = 1.0
    sky, gain = band_noise(["g", "r", "z"])
    clean = scale * torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(n))
    return {
        keys.CLEAN: clean,
        keys.PSF: psf,
        keys.TARGET_PSF: target_psf,
        keys.PSF_FWHM: torch.full((n,), 1.2),
        keys.SKY_SIGMA: sky.expand(n, -1),
        keys.GAIN: gain.expand(n, -1),
        keys.INDEX: torch.arange(first, first + n),
    }


def prepare(task: GalaxyTask, batch: dict, stage: str) -> dict:
    """``batch`` as the task receives it in ``stage``: through its transforms on the device.

    For masked autoencoding the visible patches the network would draw are added too.
    """
    batch = apply_transforms(task.transforms, dict(batch), stage)
    if isinstance(task, MaskedAutoencoderTask):
        task.train(stage == "train")
        batch[keys.VISIBLE] = task.visible_patches(batch)
    return batch
