"""MaskedAutoencoder: the backbone encodes a random subset of patches, a light decoder the rest.

The decoder is built as ``decoder(backbone)`` and called as ``decoder(tokens, visible)``,
returning the pixels of every patch; :class:`~galvision.heads.MAEDecoder` is the default.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from galvision.backbones.contract import TokenBackbone, require_backbone
from galvision.errors import ConfigError
from galvision.heads import patchify, unpatchify
from galvision.transforms.base import sample_generator

TokenHeadFactory = Callable[[nn.Module], nn.Module]


class MaskedAutoencoder(nn.Module):
    """He et al. (2022): predict the pixels of hidden patches from the visible ones.

    Args:
        backbone: the encoder.
        decoder: the pixel decoder over the encoder's visible tokens.
        mask_ratio: fraction of patches hidden from the encoder, in [0, 1).
        mask_seed: base seed of the patches hidden from each evaluation image.
    """

    def __init__(
        self,
        backbone: TokenBackbone,
        decoder: nn.Module,
        mask_ratio: float = 0.75,
        mask_seed: int = 20261124,
    ) -> None:
        super().__init__()
        require_backbone(backbone, TokenBackbone, "MaskedAutoencoder")
        num_patches = backbone.grid_size**2
        if not 0 <= mask_ratio < 1:
            raise ConfigError(f"model: mask_ratio={mask_ratio} must be at least 0 and below 1")
        num_masked = round(num_patches * mask_ratio)
        if num_masked == num_patches:
            raise ConfigError(
                f"model: mask_ratio={mask_ratio} leaves none of the {num_patches} patches visible"
            )
        self.backbone = backbone
        self.decoder = decoder
        self.num_patches = num_patches
        self.num_visible = num_patches - num_masked
        self.mask_seed = mask_seed

    def sample_visible(
        self, count: int, index: torch.Tensor | None = None, device: torch.device | None = None
    ) -> torch.Tensor:
        """Sorted indices (count, n) of visible patches: random, or fixed by each ``index``."""
        if index is None:
            noise = torch.rand(count, self.num_patches)
        else:
            noise = torch.stack(
                [
                    torch.rand(self.num_patches, generator=sample_generator(self.mask_seed, i))
                    for i in index.tolist()
                ]
            )
        return noise.argsort(dim=1)[:, : self.num_visible].sort(dim=1).values.to(device)

    def forward(self, image: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """Predicted pixels (B, N, p*p*C) of every patch from the ``visible`` ones (B, n)."""
        return self.decoder(self.backbone.forward_visible(image, visible), visible)

    def reconstruct(self, image: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """``image`` (B, C, H, W) with the patches not in ``visible`` (B, n) predicted.

        Visible patches are copied from ``image`` unchanged; any number n of them works.
        """
        patch_size = self.backbone.patch_size
        patches = patchify(image, patch_size)
        index = visible[..., None].expand(-1, -1, patches.shape[-1])
        predicted = self(image, visible).scatter(1, index, patches.gather(1, index))
        return unpatchify(predicted, patch_size)
