"""Classifier: a backbone's pooled embedding through a classification head.

A classification head is built as ``head(backbone, num_classes, num_outputs)`` and called on
pooled features (B, D), returning ``logits`` and, with ``num_outputs`` > 0, ``regression``;
:class:`~galvision.heads.ClassifierHead` is the default.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from galvision.backbones.contract import PooledBackbone, require_backbone

PooledHeadFactory = Callable[[nn.Module, int, int], nn.Module]


class Classifier(nn.Module):
    """Images (B, C, H, W) -> class ``logits`` (B, K), and ``regression`` where the head has it."""

    def __init__(self, backbone: PooledBackbone, head: nn.Module) -> None:
        super().__init__()
        require_backbone(backbone, PooledBackbone, "Classifier")
        self.backbone = backbone
        self.head = head

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """Head outputs of display-space images."""
        return self.head(self.backbone.forward_pooled(image))
