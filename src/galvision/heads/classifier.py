"""ClassifierHead: class logits (and optional regressed values) from a pooled embedding."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from galvision.backbones.contract import PooledBackbone
from galvision.errors import ConfigError


class ClassifierHead(nn.Module):
    """Normalisation, dropout and linear layers: pooled features (B, D) -> ``logits`` (B, K).

    Built for a backbone's ``embed_dim``. ``norm`` is ``layer`` (LayerNorm, per image) or
    ``batch`` (BatchNorm without affine terms, per feature over the batch: the MAE
    linear-probe recipe, which brings out features that differ little between images). With
    ``num_outputs`` > 0 a second linear layer on the same normalised features also gives
    ``regression`` (B, num_outputs).
    """

    def __init__(
        self,
        backbone: PooledBackbone,
        num_classes: int,
        num_outputs: int = 0,
        dropout: float = 0.0,
        norm: Literal["layer", "batch"] = "layer",
    ) -> None:
        super().__init__()
        embed_dim = backbone.embed_dim
        if norm not in ("layer", "batch"):
            raise ConfigError(f"classifier norm={norm!r} must be 'layer' or 'batch'")
        self.norm = (
            nn.LayerNorm(embed_dim) if norm == "layer" else nn.BatchNorm1d(embed_dim, affine=False)
        )
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(embed_dim, num_classes)
        self.regressor = nn.Linear(embed_dim, num_outputs) if num_outputs else None

    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """Class logits, and regressed values when the head has them."""
        features = self.dropout(self.norm(features))
        outputs = {"logits": self.linear(features)}
        if self.regressor is not None:
            outputs["regression"] = self.regressor(features)
        return outputs
