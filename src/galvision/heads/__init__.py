"""Task heads: plain nn.Modules on top of backbone outputs."""

from galvision.heads.pixel_decoder import PixelDecoder

__all__ = ["PixelDecoder"]
