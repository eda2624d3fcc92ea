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

import torch
from segmentation_models_pytorch.base.modules import Conv2dReLU
from segmentation_models_pytorch.decoders.unet.decoder import UnetDecoder
from torch import nn

from galvision.backbones.contract import DenseBackbone, require_backbone
from galvision.errors import ConfigError, DataError


class PixelDecoder(nn.Module):
    """Dense decoder returning an image at the input resolution from a backbone's maps.

    Its channels follow the backbone: the stem has one level per halving up to the patch
    stride (3 for patch 8, 4 for patch 16), each with its U-Net decoder block.

    Args:
        backbone: the backbone whose maps it decodes (``in_chans``, ``embed_dim``,
            ``patch_size``, ``block_indices``).
        extra_channels: planes given to the stem beside the image (a mask, the PSF FWHM).
        num_maps: backbone blocks (evenly spaced, ending at the last) fused at the coarsest level.
        out_chans: bands of the output image; default the backbone's.
        stem_width: channels of the stem's first level, doubled per level up to 4×.
        decoder_channels: channels of the U-Net decoder blocks, one per level; default 96
            halved per level (at least 16).
        residual: add the output to the input image (learn a correction).
    """

    def __init__(
        self,
        backbone: DenseBackbone,
        extra_channels: int = 0,
        num_maps: int = 4,
        out_chans: int | None = None,
        stem_width: int = 24,
        decoder_channels: tuple[int, ...] | None = None,
        residual: bool = True,
    ) -> None:
        super().__init__()
        require_backbone(backbone, DenseBackbone, "PixelDecoder")
        levels = round(math.log2(backbone.patch_size))
        if 2**levels != backbone.patch_size:
            raise ConfigError(
                f"PixelDecoder: the backbone's patch_size={backbone.patch_size} is not a power "
                "of two"
            )
        if not 1 <= num_maps <= backbone.depth:
            raise ConfigError(
                f"PixelDecoder: num_maps={num_maps} must lie in [1, {backbone.depth}] (the "
                "backbone's blocks)"
            )
        decoder_channels = tuple(decoder_channels or decoder_widths(levels))
        if len(decoder_channels) != levels:
            raise ConfigError(
                f"PixelDecoder: {len(decoder_channels)} decoder_channels for {levels} levels "
                f"(patch_size={backbone.patch_size})"
            )
        in_chans = backbone.in_chans
        out_chans = out_chans or in_chans
        widths = [stem_width * 2 ** min(level, 2) for level in range(levels)]
        stem_in = in_chans + extra_channels
        self.stem = nn.ModuleList(
            Conv2dReLU(
                widths[i - 1] if i else stem_in, widths[i], 3, padding=1, stride=1 if i == 0 else 2
            )
            for i in range(levels)
        )
        fused_width = 2 * widths[-1]
        self.fuse = Conv2dReLU(backbone.embed_dim * num_maps, fused_width, 1)
        self.decoder = UnetDecoder(
            encoder_channels=(stem_in, *widths, fused_width),
            decoder_channels=decoder_channels,
            n_blocks=levels,
        )
        self.output = nn.Conv2d(decoder_channels[-1], out_chans, 3, padding=1)
        self.residual = residual and in_chans == out_chans
        self.extra_channels = extra_channels
        self.map_indices = backbone.block_indices(num_maps)

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
                got = "none" if extra is None else extra.shape[1]
                raise DataError(
                    f"PixelDecoder: expected {self.extra_channels} extra planes, got {got}"
                )
            x = torch.cat([image, extra.to(image.dtype)], dim=1)
        pyramid = [x]
        for level in self.stem:
            pyramid.append(level(pyramid[-1]))
        pyramid.append(self.fuse(torch.cat(maps, dim=1)))
        out = self.output(self.decoder(pyramid))
        return out + image if self.residual else out


def decoder_widths(levels: int) -> tuple[int, ...]:
    """Default U-Net decoder channels for ``levels`` levels: 96 halved per level, at least 16."""
    return tuple(max(96 // 2**i, 16) for i in range(levels))
