"""AlignmentNetwork: galaxy images, schematic symbols and text projected into one space."""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from galvision.backbones.contract import PooledBackbone, require_backbone
from galvision.models.text import MiniLMText, WordTransformer

MODALITIES = ("image", "symbol", "text")
PAIRS = ("image_text", "image_symbol", "symbol_text")


def projection(in_dim: int, out_dim: int) -> nn.Sequential:
    """CLIP-style two-layer projection into the shared space."""
    return nn.Sequential(nn.Linear(in_dim, in_dim), nn.GELU(), nn.Linear(in_dim, out_dim))


class SymbolCNN(nn.Module):
    """(B, 1, H, W) line drawings -> (B, width): four strided convolutions and a mean."""

    def __init__(self, width: int = 128) -> None:
        super().__init__()
        channels = (1, 32, 64, 128, width)
        layers: list[nn.Module] = []
        for c_in, c_out in pairwise(channels):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.BatchNorm2d(c_out)]
            layers.append(nn.GELU())
        self.layers = nn.Sequential(*layers)
        self.out_dim = width

    def forward(self, symbol: torch.Tensor) -> torch.Tensor:
        return self.layers(symbol).mean((2, 3))


class BackboneSymbols(nn.Module):
    """Symbols through the shared image backbone, the drawing repeated over its bands."""

    def __init__(self, backbone: PooledBackbone, bands: int) -> None:
        super().__init__()
        self._backbone = [backbone]  # shared: owned (and saved) by the image tower
        self.bands = bands
        self.out_dim = backbone.embed_dim

    def forward(self, symbol: torch.Tensor) -> torch.Tensor:
        return self._backbone[0].forward_pooled(symbol.expand(-1, self.bands, -1, -1))


class AlignmentNetwork(nn.Module):
    """Each modality's tower and projection; ``embed`` gives unit vectors in the shared space.

    Args:
        backbone: the shared image backbone (``forward_pooled``).
        bands: bands of the images (symbols through the backbone are repeated over them).
        dim: width of the shared space.
        text_encoder: ``minilm`` (packaged MiniLM, frozen unless ``text_tuned_layers``) or
            ``small`` (a word transformer trained here).
        symbol_encoder: ``cnn`` (a small convolutional tower) or ``backbone`` (the shared one).
        text_tuned_layers: MiniLM layers trained with the task.
    """

    def __init__(
        self,
        backbone: PooledBackbone,
        bands: int,
        dim: int = 128,
        text_encoder: Literal["minilm", "small"] = "minilm",
        symbol_encoder: Literal["cnn", "backbone"] = "cnn",
        text_tuned_layers: int = 0,
    ) -> None:
        super().__init__()
        require_backbone(backbone, PooledBackbone, "AlignmentNetwork")
        self.backbone = backbone
        self.text = MiniLMText(text_tuned_layers) if text_encoder == "minilm" else WordTransformer()
        self.symbol = SymbolCNN() if symbol_encoder == "cnn" else BackboneSymbols(backbone, bands)
        self.projections = nn.ModuleDict(
            {
                "image": projection(backbone.embed_dim, dim),
                "symbol": projection(self.symbol.out_dim, dim),
                "text": projection(self.text.out_dim, dim),
            }
        )
        # CLIP's learnable temperature, starting at 0.07.
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def features(self, modality: str, value: torch.Tensor | list[str]) -> torch.Tensor:
        """The tower's output of one modality, before projection."""
        if modality == "image":
            return self.backbone.forward_pooled(value)
        return self.symbol(value) if modality == "symbol" else self.text(value)

    def embed(self, modality: str, value: torch.Tensor | list[str]) -> torch.Tensor:
        """Unit-length embeddings (B, dim) of images, symbols (B, 1, H, W) or sentences."""
        return F.normalize(self.projections[modality](self.features(modality, value)), dim=-1)

    def scale(self) -> torch.Tensor:
        """Logit scale, clamped at 100 as in CLIP."""
        return self.logit_scale.exp().clamp(max=100.0)
