"""Task heads: plain nn.Modules on top of backbone outputs."""

from galvision.heads.centernet import CenterNetHead
from galvision.heads.classifier import ClassifierHead
from galvision.heads.mae_decoder import MAEDecoder
from galvision.heads.patches import patchify, unpatchify
from galvision.heads.pixel_decoder import PixelDecoder

__all__ = [
    "CenterNetHead",
    "ClassifierHead",
    "MAEDecoder",
    "PixelDecoder",
    "patchify",
    "unpatchify",
]
