"""The input check every backbone shares: square stamps with a fixed band count and size."""

from __future__ import annotations

import torch

from galvision.errors import DataError


class StampInput:
    """Mixin for backbones with ``in_chans`` bands and ``img_size`` pixels a side."""

    in_chans: int
    img_size: int

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a clear error when ``x`` does not fit the backbone's bands or image size."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise DataError(
                f"input of shape {tuple(x.shape)} has {x.shape[1] if x.ndim == 4 else '?'} "
                f"band(s), but the backbone was built for in_chans={self.in_chans}"
            )
        if x.shape[-2:] != (self.img_size, self.img_size):
            raise DataError(
                f"input images are {x.shape[-2]}×{x.shape[-1]}, but the backbone was built "
                f"for img_size={self.img_size}"
            )
