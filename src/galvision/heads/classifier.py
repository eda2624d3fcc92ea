"""ClassifierHead: class logits (and optional regressed values) from a pooled embedding."""

from __future__ import annotations

import torch
from torch import nn


class ClassifierHead(nn.Module):
    """LayerNorm, dropout and linear layers: pooled features (B, D) -> ``logits`` (B, K).

    With ``num_outputs`` > 0 a second linear layer on the same normalised features also gives
    ``regression`` (B, num_outputs).
    """

    def __init__(
        self, embed_dim: int, num_classes: int, dropout: float = 0.0, num_outputs: int = 0
    ) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(embed_dim)
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
