"""What every backbone shares: a timm model without pretrained weights, and its input check."""

from __future__ import annotations

from typing import Any

import timm
import torch
from torch import nn

from galvision.errors import ConfigError, DataError


def create_timm_model(name: str, in_chans: int, **kwargs: Any) -> nn.Module:
    """timm model ``name`` for ``in_chans`` bands without classifier or pretrained weights."""
    if in_chans < 1:
        raise ConfigError(f"backbone: in_chans={in_chans} must be at least 1")
    try:
        return timm.create_model(name, pretrained=False, num_classes=0, in_chans=in_chans, **kwargs)
    except (RuntimeError, TypeError) as error:
        raise ConfigError(f"backbone: timm cannot build {name!r}: {error}") from error


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
