"""Random re-observation of real images: framing, seeing, brightness and noise (kornia)."""

from __future__ import annotations

from kornia.augmentation import (
    ColorJiggle,
    RandomGaussianBlur,
    RandomGaussianNoise,
    RandomResizedCrop,
)
from torch import nn

from galvision.data import keys
from galvision.data.intensity import DATA_RANGE
from galvision.data.keys import require
from galvision.errors import ConfigError
from galvision.transforms.base import TRAIN, BatchTransform

# Entries that share the image's pixel grid: jittering the image alone would misalign them.
ALIGNED_KEYS = (keys.CLEAN, keys.TARGET, keys.MASK)


class ImageJitter(BatchTransform):
    """In training, each image re-framed, blurred, rescaled in brightness and given noise.

    Real observations carry no clean galaxy to observe afresh, so their views differ the way
    two observations of one galaxy might: a slightly different cutout (a crop of at least
    ``crop_scale[0]`` of the area, resized back), seeing (a Gaussian blur of sigma in
    ``blur_sigma`` pixels), calibration (brightness and contrast within ``±brightness``) and
    noise (Gaussian of standard deviation ``noise`` in display units). Each effect applies to
    a sample with probability ``p``. Other stages pass unchanged. It changes only ``IMAGE``, so
    it refuses batches whose targets share the image's grid.

    Args:
        crop_scale: range of the cropped fraction of the image area.
        blur_sigma: range of the blur's sigma, pixels.
        brightness: largest relative change of brightness and of contrast.
        noise: standard deviation of the added noise, display units.
        p: probability of each effect.
    """

    def __init__(
        self,
        crop_scale: tuple[float, float] = (0.6, 1.0),
        blur_sigma: tuple[float, float] = (0.1, 1.2),
        brightness: float = 0.2,
        noise: float = 0.02,
        p: float = 0.5,
    ) -> None:
        if not 0 < crop_scale[0] <= crop_scale[1] <= 1:
            raise ConfigError(
                f"ImageJitter: crop_scale={list(crop_scale)} must be 0 < low <= high <= 1"
            )
        if not 0 < blur_sigma[0] <= blur_sigma[1]:
            raise ConfigError(f"ImageJitter: blur_sigma={list(blur_sigma)} must be 0 < low <= high")
        if not 0 <= brightness < 1 or noise < 0 or not 0 <= p <= 1:
            raise ConfigError(
                f"ImageJitter: brightness={brightness} must lie in [0, 1), noise={noise} must "
                f"not be negative and p={p} must lie in [0, 1]"
            )
        self.crop_scale, self.blur_sigma = tuple(crop_scale), tuple(blur_sigma)
        self.brightness, self.noise, self.p = brightness, noise, p

    def effects(self, size: int) -> nn.Sequential:
        """The kornia augmentations for square images of side ``size``."""
        kernel = 2 * int(3 * self.blur_sigma[1]) + 1
        return nn.Sequential(
            RandomResizedCrop((size, size), scale=self.crop_scale, ratio=(0.9, 1.1), p=self.p),
            RandomGaussianBlur((kernel, kernel), self.blur_sigma, p=self.p),
            ColorJiggle(brightness=self.brightness, contrast=self.brightness, p=self.p),
            RandomGaussianNoise(std=self.noise, p=self.p),
        )

    def __call__(self, batch: dict, stage: str) -> dict:
        """The batch with its images jittered sample by sample in the ``train`` stage."""
        if stage != TRAIN:
            return batch
        aligned = [key for key in ALIGNED_KEYS if key in batch]
        if aligned:
            raise ConfigError(
                f"ImageJitter changes only the image, but the batch also holds {aligned}: "
                "use it where the targets are not images (contrastive, classification)"
            )
        image = require(batch, keys.IMAGE, "ImageJitter")
        jittered = self.effects(image.shape[-1]).to(image.device)(image)
        return {**batch, keys.IMAGE: jittered.clamp(0, DATA_RANGE).to(image.dtype)}
