"""Small-angle rotations: the orientations between the dihedral group's right angles."""

from __future__ import annotations

import torch
from kornia.geometry.transform import rotate

from galvision.data import keys
from galvision.errors import ConfigError
from galvision.transforms.base import TRAIN, BatchTransform

# Entries turned with the galaxy; the PSF belongs to the telescope and stays as it is.
ROTATED_KEYS = (keys.CLEAN, keys.IMAGE, keys.TARGET, keys.MASK)


class SmallRotation(BatchTransform):
    """In training, each galaxy turned by an angle drawn uniformly from ±``degrees``.

    Placed before :class:`~galvision.transforms.Observe` it turns the noiseless galaxy, so the
    noise and the PSF are never interpolated; on real images it turns the image itself.
    Together with :class:`~galvision.transforms.RandomDihedral` every orientation is covered.

    Args:
        degrees: largest angle in either direction; 45 reaches every orientation with the
            dihedral turns.
    """

    def __init__(self, degrees: float = 45.0) -> None:
        if not 0 < degrees <= 180:
            raise ConfigError(f"SmallRotation: degrees={degrees} must be in (0, 180]")
        self.degrees = degrees

    def __call__(self, batch: dict, stage: str) -> dict:
        """The batch with its pixel-grid entries turned, in the ``train`` stage only."""
        if stage != TRAIN:
            return batch
        if keys.BOXES in batch:
            raise ConfigError("SmallRotation cannot turn boxes: use RandomDihedral for detection")
        present = [key for key in ROTATED_KEYS if key in batch]
        if not present:
            return batch
        first = batch[present[0]]
        angle = (torch.rand(len(first), device=first.device) * 2 - 1) * self.degrees
        return {
            **batch,
            **{
                key: rotate(batch[key], angle.to(batch[key]), padding_mode="reflection")
                for key in present
            },
        }
