"""The shared foundation backbone, its contract, and a CNN stand-in for classical baselines."""

from galvision.backbones.cnn import ConvBackbone
from galvision.backbones.contract import (
    DenseBackbone,
    PooledBackbone,
    TokenBackbone,
    require_backbone,
)
from galvision.backbones.vit import Backbone
from galvision.backbones.weights import load_backbone

__all__ = [
    "Backbone",
    "ConvBackbone",
    "DenseBackbone",
    "PooledBackbone",
    "TokenBackbone",
    "load_backbone",
    "require_backbone",
]
