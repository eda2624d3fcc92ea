"""Hide pixels of observed images for inpainting: the masked image in, the full image as target."""

from __future__ import annotations

import torch

from galvision.data import keys
from galvision.data.keys import require
from galvision.errors import DataError
from galvision.transforms.base import TRAIN, BatchTransform, evaluation_indices
from galvision.transforms.masking import MaskGenerator


class MaskPixels(BatchTransform):
    """Mask pixels of ``IMAGE``: ``MASK`` (B, 1, H, W) is 1 where hidden, hidden pixels are 0.

    ``TARGET`` becomes the whole image before masking. Masks are drawn fresh in training and
    fixed by each sample's ``INDEX`` otherwise; a batch that already holds a ``MASK`` (real
    data with known bad pixels) keeps it.

    Args:
        masks: how masks are drawn; default patches of 8 pixels covering half the image.
    """

    def __init__(self, masks: MaskGenerator | None = None) -> None:
        self.masks = masks or MaskGenerator()

    def __call__(self, batch: dict, stage: str) -> dict:
        """The batch with its pixels masked and the unmasked image as target."""
        image = require(batch, keys.IMAGE, "MaskPixels", "observe the galaxies first")
        mask = batch.get(keys.MASK)
        if mask is None:
            height, width = image.shape[-2:]
            if stage == TRAIN:
                mask = self.masks(len(image), height, width, device=image.device)
            else:
                index = evaluation_indices(batch, "MaskPixels")
                mask = self.masks.for_indices(index, height, width, image.device)
        mask = (mask[:, None] if mask.ndim == 3 else mask).to(image.dtype)
        if mask.shape[1] != 1 or mask.shape[-2:] != image.shape[-2:]:
            raise DataError(
                f"MaskPixels: mask of shape {tuple(mask.shape)} does not fit images of shape "
                f"{tuple(image.shape)}; expected (B, 1, H, W)"
            )
        return {
            **batch,
            keys.TARGET: image,
            keys.MASK: mask,
            keys.IMAGE: torch.where(mask.bool(), 0.0, image),
        }
