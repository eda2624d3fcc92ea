"""PixelDecoder: image-to-image head fusing ViT maps with a full-resolution image pyramid.

A ViT sees the image through patches (8 px by default), so its maps alone cannot restore
detail finer than a patch. segmentation-models-pytorch's U-Net decoder fuses a feature pyramid
coarse-to-fine; here the pyramid is a light convolutional stem on the input image (strides 1,
2, 4, ...) topped by the ViT's intermediate maps at the patch stride. smp's DPT decoder, made
for ViTs, stops at half resolution with no image skip, which loses the sub-patch detail that
deconvolution is about.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from segmentation_models_pytorch.base.modules import Conv2dReLU
from segmentation_models_pytorch.decoders.unet.decoder import UnetDecoder
from torch import nn

if TYPE_CHECKING:
    from galvision.backbones import Backbone


class PixelDecoder(nn.Module):
    """Dense decoder returning an image of ``out_chans`` bands at the input resolution.

    Args:
        in_chans: bands of the input image (also the skip at full resolution).
        out_chans: bands of the output image.
        embed_dim: width of the backbone's maps.
        patch_size: stride of the backbone's maps; a power of two.
        num_maps: how many backbone maps are concatenated at the coarsest level.
        extra_channels: planes given to the stem beside the image (a mask, the PSF FWHM).
        stem_width: channels of the stem's first level, doubled per level up to 4×.
        decoder_channels: channels of the U-Net decoder blocks, one per level.
        residual: add the output to the input image (learn a correction).
    """

    def __init__(
        self,
        in_chans: int,
        out_chans: int,
        embed_dim: int,
        patch_size: int,
        num_maps: int = 4,
        extra_channels: int = 0,
        stem_width: int = 24,
        decoder_channels: tuple[int, ...] = (96, 48, 24),
        residual: bool = True,
    ) -> None:
        super().__init__()
        levels = int(math.log2(patch_size))
        if 2**levels != patch_size:
            raise ValueError(f"PixelDecoder: patch_size={patch_size} is not a power of two")
        widths = [stem_width * 2 ** min(level, 2) for level in range(levels)]
        if len(decoder_channels) != levels:
            raise ValueError(
                f"PixelDecoder: {len(decoder_channels)} decoder_channels for {levels} levels "
                f"(patch_size={patch_size})"
            )
        stem_in = in_chans + extra_channels
        self.stem = nn.ModuleList(
            Conv2dReLU(
                widths[i - 1] if i else stem_in, widths[i], 3, padding=1, stride=1 if i == 0 else 2
            )
            for i in range(levels)
        )
        fused_width = 2 * widths[-1]
        self.fuse = Conv2dReLU(embed_dim * num_maps, fused_width, 1)
        self.decoder = UnetDecoder(
            encoder_channels=(stem_in, *widths, fused_width),
            decoder_channels=decoder_channels,
            n_blocks=levels,
        )
        self.output = nn.Conv2d(decoder_channels[-1], out_chans, 3, padding=1)
        self.residual = residual and in_chans == out_chans
        self.extra_channels = extra_channels

    @classmethod
    def for_backbone(
        cls, backbone: Backbone, num_maps: int, extra_channels: int = 0
    ) -> PixelDecoder:
        """A decoder returning images with the backbone's bands from ``num_maps`` of its maps."""
        return cls(
            in_chans=backbone.in_chans,
            out_chans=backbone.in_chans,
            embed_dim=backbone.embed_dim,
            patch_size=backbone.patch_size,
            num_maps=num_maps,
            extra_channels=extra_channels,
        )

    def forward(
        self,
        maps: list[torch.Tensor],
        image: torch.Tensor,
        extra: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Decode backbone ``maps``, the input ``image`` and ``extra`` planes (B, K, H, W)."""
        x = image
        if self.extra_channels:
            if extra is None or extra.shape[1] != self.extra_channels:
                raise ValueError(f"PixelDecoder: expected {self.extra_channels} extra planes")
            x = torch.cat([image, extra.to(image.dtype)], dim=1)
        pyramid = [x]
        for level in self.stem:
            pyramid.append(level(pyramid[-1]))
        pyramid.append(self.fuse(torch.cat(maps, dim=1)))
        out = self.output(self.decoder(pyramid))
        return out + image if self.residual else out
