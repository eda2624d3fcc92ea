"""ConvBackbone: a timm CNN (e.g. ResNet-18) as a pooled-feature backbone, for baselines."""

from __future__ import annotations

import torch
from torch import nn

from galvision.backbones.stamp_input import StampInput, create_timm_model


class ConvBackbone(StampInput, nn.Module):
    """A timm convolutional network with its classifier removed: one embedding per stamp.

    It stands in for :class:`~galvision.backbones.Backbone` in tasks that only need pooled
    features (classification), so a CNN baseline trains through the very same task, data and
    schedule as the ViT it is compared with.

    Args:
        name: timm model name, e.g. ``resnet18``; built without pretrained weights.
        in_chans: number of bands.
        img_size: side of the square input stamp in pixels.
        drop_path_rate: stochastic depth rate, where the architecture has it.
        model_kwargs: further keyword arguments for ``timm.create_model``.
    """

    def __init__(
        self,
        name: str = "resnet18",
        in_chans: int = 3,
        img_size: int = 64,
        drop_path_rate: float = 0.0,
        model_kwargs: dict | None = None,
    ) -> None:
        super().__init__()
        self.model = create_timm_model(
            name, in_chans, drop_path_rate=drop_path_rate, **(model_kwargs or {})
        )
        self.name = name
        self.in_chans = in_chans
        self.img_size = img_size
        self.embed_dim: int = self.model.num_features

    def forward_pooled(self, x: torch.Tensor) -> torch.Tensor:
        """One embedding per image (B, D), globally average-pooled."""
        self.check_input(x)
        return self.model(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled embedding, so that the backbone alone is a feature extractor."""
        return self.forward_pooled(x)
