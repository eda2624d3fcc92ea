"""The dihedral group of the square: exact right-angle rotations and flips of images and boxes.

They are pixel permutations, so neither the noise nor the PSF is resampled by interpolation;
a galaxy has no preferred orientation, so every one of them is as likely as the original.
"""

from __future__ import annotations

import torch

from galvision.data import keys
from galvision.data.keys import require
from galvision.transforms.base import TRAIN, BatchTransform, evaluation_indices

DIHEDRAL_ORDER = 8  # four right-angle rotations, each with and without a mirror flip
# Every batch entry laid out on the pixel grid (..., H, W) that turns with the image.
SPATIAL_KEYS = (
    keys.CLEAN,
    keys.PSF,
    keys.TARGET_PSF,
    keys.OBSERVED,
    keys.TARGET_FLUX,
    keys.IMAGE,
    keys.TARGET,
    keys.MASK,
)


def dihedral(images: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k``-th (0-7) of the 8 rotations and flips of square images (..., H, W)."""
    rotated = torch.rot90(images, k % 4, dims=(-2, -1))
    return rotated.flip(-1) if k >= 4 else rotated


def dihedral_views(images: torch.Tensor) -> torch.Tensor:
    """All 8 rotations and flips of (B, ..., H, W) images stacked as (8·B, ...), untouched first."""
    return torch.cat([dihedral(images, k) for k in range(DIHEDRAL_ORDER)])


def dihedral_boxes(boxes: torch.Tensor, k: int, size: int) -> torch.Tensor:
    """Boxes (n, 4) of a ``size``-pixel square image under :func:`dihedral`."""
    x0, y0, x1, y1 = boxes.unbind(-1)
    for _ in range(k % 4):  # torch.rot90 over (H, W) sends pixel (x, y) to (y, size - 1 - x)
        x0, y0, x1, y1 = y0, size - x1, y1, size - x0
    if k >= 4:
        x0, x1 = size - x1, size - x0
    return torch.stack([x0, y0, x1, y1], dim=-1)


def dihedral_each(images: torch.Tensor, choice: torch.Tensor) -> torch.Tensor:
    """Image ``i`` of (B, ..., H, W) under transform ``choice[i]``."""
    out = images.clone()
    for k in range(DIHEDRAL_ORDER):
        chosen = choice == k
        if chosen.any():
            out[chosen] = dihedral(images[chosen], k)
    return out


def turn_samples(batch: dict, choice: torch.Tensor, who: str) -> dict:
    """The batch with the pixel-grid entries and ``BOXES`` of sample ``i`` under ``choice[i]``."""
    image = require(batch, keys.IMAGE if keys.IMAGE in batch else keys.CLEAN, who)
    choice = choice.to(image.device)
    turned = {key: dihedral_each(batch[key], choice) for key in SPATIAL_KEYS if key in batch}
    if keys.BOXES in batch:
        size = image.shape[-1]
        turned[keys.BOXES] = [
            dihedral_boxes(boxes, k, size)
            for boxes, k in zip(batch[keys.BOXES], choice.tolist(), strict=True)
        ]
    return {**batch, **turned}


class RandomDihedral(BatchTransform):
    """In training, each sample under one of the 8 rotations and flips, drawn uniformly.

    Every pixel-grid entry of the sample (clean galaxy, PSFs, image, target, mask) and its
    ``BOXES`` turn together. Other stages pass unchanged: evaluation sees the data as it is.
    """

    def __call__(self, batch: dict, stage: str) -> dict:
        """The batch, turned sample by sample in the ``train`` stage."""
        if stage != TRAIN:
            return batch
        image = require(batch, keys.IMAGE if keys.IMAGE in batch else keys.CLEAN, "RandomDihedral")
        choice = torch.randint(DIHEDRAL_ORDER, (len(image),), device=image.device)
        return turn_samples(batch, choice, "RandomDihedral")


class IndexedDihedral(BatchTransform):
    """Outside training, each sample under turn ``1 + INDEX % 7``: fixed, and never the identity.

    It gives evaluation a second view of every galaxy that differs from the first and is the
    same at every epoch. Training batches pass unchanged.
    """

    def __call__(self, batch: dict, stage: str) -> dict:
        """The batch, turned sample by sample by its dataset index outside ``train``."""
        if stage == TRAIN:
            return batch
        index = evaluation_indices(batch, "IndexedDihedral")
        choice = 1 + index % (DIHEDRAL_ORDER - 1)
        return turn_samples(batch, choice, "IndexedDihedral")
