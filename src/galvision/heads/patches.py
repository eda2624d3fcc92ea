"""Images <-> sequences of flattened ViT patches, in the backbone's row-major patch order."""

from __future__ import annotations

import math

import torch

from galvision.errors import DataError


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Split (B, C, H, W) images into (B, N, p*p*C) patches, pixels before bands."""
    b, c, h, w = images.shape
    if h % patch_size or w % patch_size:
        raise DataError(f"patchify: {h}×{w} images are not divisible by patch_size={patch_size}")
    rows, cols = h // patch_size, w // patch_size
    x = images.reshape(b, c, rows, patch_size, cols, patch_size)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(b, rows * cols, patch_size**2 * c)


def unpatchify(patches: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Reassemble (B, N, p*p*C) patches of square images into (B, C, H, W) images."""
    b, n, d = patches.shape
    side, bands = math.isqrt(n), d // patch_size**2
    if side * side != n or bands * patch_size**2 != d:
        raise DataError(
            f"unpatchify: {n} patches of {d} values with patch_size={patch_size} do not tile "
            "a square image"
        )
    x = patches.reshape(b, side, side, patch_size, patch_size, bands)
    return x.permute(0, 5, 1, 3, 2, 4).reshape(b, bands, side * patch_size, side * patch_size)
