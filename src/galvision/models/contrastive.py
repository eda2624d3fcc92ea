"""ContrastiveNetwork: a backbone's pooled embedding, its SimCLR projection and an optional head."""

from __future__ import annotations

import torch
from lightly.models.modules import SimCLRProjectionHead
from torch import nn

from galvision.backbones.contract import PooledBackbone, require_backbone


class ContrastiveNetwork(nn.Module):
    """Images (B, C, H, W) -> ``embedding`` (B, D), its ``projection`` (B, P), head outputs.

    The projection is SimCLR's MLP (Chen et al. 2020): the contrastive loss is taken on it, and
    the embedding before it is what other tasks reuse. A pooled head (``head(embedding)``, e.g.
    a :class:`~galvision.heads.ClassifierHead` with ``regression``) adds its outputs.

    Args:
        backbone: a backbone with ``forward_pooled``.
        projection_dim: width of the projection.
        hidden_dim: width of the projection's hidden layer; default the backbone's
            ``embed_dim``.
        head: optional head on the embedding.
    """

    def __init__(
        self,
        backbone: PooledBackbone,
        projection_dim: int = 128,
        hidden_dim: int | None = None,
        head: nn.Module | None = None,
    ) -> None:
        super().__init__()
        require_backbone(backbone, PooledBackbone, "ContrastiveNetwork")
        self.backbone = backbone
        self.projection = SimCLRProjectionHead(
            backbone.embed_dim, hidden_dim or backbone.embed_dim, projection_dim
        )
        self.head = head

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """Embedding, projection and head outputs of display-space images."""
        embedding = self.backbone.forward_pooled(image)
        outputs = {"embedding": embedding, "projection": self.projection(embedding)}
        if self.head is not None:
            outputs.update(self.head(embedding))
        return outputs
