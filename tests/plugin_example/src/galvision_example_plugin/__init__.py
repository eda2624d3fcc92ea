"""Example plugin: a deconvolution task with a positivity penalty, and a light dense head."""

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from galvision.tasks import DeconvolutionTask


class NonNegativeDeconvolutionTask(DeconvolutionTask):
    """DeconvolutionTask with a penalty on restored pixels below zero."""

    def __init__(
        self, backbone: nn.Module, *args: Any, negativity_weight: float = 1.0, **kwargs: Any
    ) -> None:
        super().__init__(backbone, *args, **kwargs)
        self.negativity_weight = negativity_weight

    def compute(self, batch: dict) -> dict[str, Any]:
        outputs = super().compute(batch)
        penalty = torch.relu(-outputs["restored"]).mean()
        outputs["loss"] = outputs["loss"] + self.negativity_weight * penalty
        return outputs


class UpsamplingHead(nn.Module):
    """A dense head: the last backbone map upsampled, fused with the image by two convolutions."""

    def __init__(self, backbone: nn.Module, extra_channels: int = 0, width: int = 16) -> None:
        super().__init__()
        self.map_indices = [backbone.depth - 1]
        planes = backbone.embed_dim + backbone.in_chans + extra_channels
        self.fuse = nn.Sequential(
            nn.Conv2d(planes, width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, backbone.in_chans, 3, padding=1),
        )

    def forward(
        self, maps: list[torch.Tensor], image: torch.Tensor, extra: torch.Tensor | None = None
    ) -> torch.Tensor:
        """A correction of ``image`` from the upsampled map and any extra planes."""
        upsampled = F.interpolate(maps[-1], size=image.shape[-2:], mode="bilinear")
        planes = [upsampled, image] + ([extra.to(image.dtype)] if extra is not None else [])
        return image + self.fuse(torch.cat(planes, dim=1))
