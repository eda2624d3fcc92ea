"""The shared foundation backbone."""

from galvision.backbones.vit import Backbone
from galvision.backbones.weights import load_backbone

__all__ = ["Backbone", "load_backbone"]
