"""CenterNetHead: anchor-free box detection (centre heatmap, size, offset) over ViT maps.

The features are :class:`~galvision.heads.PixelDecoder`'s: a convolutional image pyramid
topped by the ViT's maps, fused coarse-to-fine by smp's U-Net decoder, but cut after the
decoder block that reaches ``output_stride``. The finer blocks would cost about as much as the
ViT itself on 128-pixel fields, for resolution a stride-4 heatmap plus sub-cell offsets does
not need; pooling a full-resolution output instead would pay that cost and then discard it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from galvision.backbones.contract import DenseBackbone
from galvision.errors import ConfigError
from galvision.heads.boxes import gather_cells
from galvision.heads.pixel_decoder import PixelDecoder, decoder_widths

PRIOR = 0.1  # initial heatmap probability, as in CenterNet and RetinaNet


def _branch(width: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(width, hidden, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(hidden, out, 1)
    )


class CenterNetHead(nn.Module):
    """One-class CenterNet head returning ``heatmap`` logits, ``size`` and ``offset`` maps.

    Outputs are (B, K, H / output_stride, W / output_stride): ``heatmap`` (K=1) logits of a box
    centre in the cell, ``size`` (K=2) box width and height in cells, ``offset`` (K=2) x and
    y position of the centre inside its cell.

    Args:
        backbone: the backbone whose maps it reads.
        num_maps: backbone blocks (evenly spaced, ending at the last) fused at the coarsest level.
        output_stride: stride of the outputs; a power of two below the patch size.
        head_width: channels of the hidden layer of each output branch.
    """

    def __init__(
        self,
        backbone: DenseBackbone,
        num_maps: int = 4,
        output_stride: int = 4,
        head_width: int = 64,
    ) -> None:
        super().__init__()
        levels = round(math.log2(backbone.patch_size))
        if output_stride not in [2**i for i in range(levels)]:
            raise ConfigError(
                f"CenterNetHead: output_stride={output_stride} must be a power of two below "
                f"the backbone's patch_size={backbone.patch_size}"
            )
        channels = decoder_widths(levels)
        self.features = PixelDecoder(
            backbone, 0, num_maps, out_chans=1, decoder_channels=channels, residual=False
        )
        kept = levels - round(math.log2(output_stride))
        del self.features.decoder.blocks[kept:]  # the U-Net decoder stops after its last block
        self.features.output = nn.Identity()
        self.heatmap = _branch(channels[kept - 1], head_width, 1)
        self.size = _branch(channels[kept - 1], head_width, 2)
        self.offset = _branch(channels[kept - 1], head_width, 2)
        nn.init.constant_(self.heatmap[-1].bias, -math.log((1 - PRIOR) / PRIOR))
        self.output_stride = output_stride
        self.map_indices = self.features.map_indices

    def forward(self, maps: list[torch.Tensor], image: torch.Tensor) -> dict[str, torch.Tensor]:
        """Heatmap logits, sizes and offsets from backbone ``maps`` and the input ``image``."""
        features = self.features(maps, image)
        return {
            "heatmap": self.heatmap(features),
            "size": self.size(features),
            "offset": self.offset(features),
        }


def heatmap_focal_loss(
    logits: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, beta: float = 4.0
) -> torch.Tensor:
    """CenterNet's focal loss, negatives near a peak down-weighted by ``(1 - target) ** beta``.

    smp's ``FocalLoss`` has no such Gaussian penalty reduction. The sum is divided by the
    number of peaks (at least 1), so an image without boxes still gives negative terms.
    """
    probability = logits.sigmoid()
    positive = target.eq(1).to(logits.dtype)
    positive_terms = (1 - probability) ** alpha * F.logsigmoid(logits) * positive
    negative_terms = (
        (1 - target) ** beta * probability**alpha * F.logsigmoid(-logits) * (1 - positive)
    )
    return -(positive_terms + negative_terms).sum() / positive.sum().clamp_min(1)


def centre_l1_loss(
    maps: torch.Tensor, index: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """L1 error of (B, K, h, w) ``maps`` at the box centres, summed over K, mean over boxes."""
    error = (gather_cells(maps, index) - target).abs().sum(-1) * mask
    return error.sum() / mask.sum().clamp_min(1)
