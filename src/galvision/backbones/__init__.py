"""The shared foundation backbone, and a CNN stand-in for classical baselines."""

from galvision.backbones.cnn import ConvBackbone
from galvision.backbones.vit import Backbone
from galvision.backbones.weights import load_backbone

__all__ = ["Backbone", "ConvBackbone", "load_backbone"]
