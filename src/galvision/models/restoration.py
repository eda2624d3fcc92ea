"""Image-to-image networks: PSF deconvolution and inpainting, a backbone with a dense head.

A dense head is built as ``head(backbone, extra_channels)``, holds ``map_indices`` (the
backbone blocks it reads) and is called as ``head(maps, image, extra)``, returning an image;
:class:`~galvision.heads.PixelDecoder` is the default.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from galvision.backbones.contract import DenseBackbone, require_backbone
from galvision.errors import ConfigError, DataError

DenseHeadFactory = Callable[[nn.Module, int], nn.Module]
# The decoder is told the seeing as (fwhm - centre) / spread, near [-1, 1] for ground surveys.
FWHM_CENTRE, FWHM_SPREAD = 1.25, 0.35


def build_dense_head(
    factory: DenseHeadFactory, backbone: DenseBackbone, extra_channels: int, who: str
) -> nn.Module:
    """``factory(backbone, extra_channels)``, checked to say which backbone maps it reads."""
    require_backbone(backbone, DenseBackbone, who)
    head = factory(backbone, extra_channels)
    if not hasattr(head, "map_indices"):
        raise ConfigError(
            f"model.head: {type(head).__name__} has no map_indices (the backbone blocks it reads)"
        )
    return head


class DeconvolutionNetwork(nn.Module):
    """Observed display-space images (and their PSF FWHM) -> galaxies through a narrow PSF."""

    def __init__(self, backbone: DenseBackbone, head: nn.Module, condition_on_fwhm: bool) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.condition_on_fwhm = condition_on_fwhm

    def forward(self, image: torch.Tensor, psf_fwhm: torch.Tensor | None = None) -> torch.Tensor:
        """Restore images (B, C, H, W), given the observing PSF's FWHM in arcsec (B,)."""
        seeing = None
        if self.condition_on_fwhm:
            if psf_fwhm is None:
                raise DataError("DeconvolutionNetwork: no psf_fwhm given for the images")
            scaled = (psf_fwhm.to(image.dtype) - FWHM_CENTRE) / FWHM_SPREAD
            seeing = scaled[:, None, None, None].expand(-1, 1, *image.shape[-2:])
        maps = self.backbone.forward_maps(image, self.head.map_indices)
        return self.head(maps, image, seeing)


class InpaintingNetwork(nn.Module):
    """Images with missing pixels (set to 0) and their masks -> the full images.

    The backbone sees the masked image; the mask goes to the head's stem as one extra plane.
    Feeding the mask to the backbone instead would change its ``in_chans`` to bands + 1, so
    pretrained weights would no longer fit. A zero is also a plausible sky value, so the head,
    which writes the pixels, needs the mask at full resolution to know which zeros are missing.
    """

    def __init__(self, backbone: DenseBackbone, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def decode(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The head's prediction of every pixel from masked images and masks (B, 1, H, W)."""
        if mask.ndim != 4 or mask.shape[1] != 1 or mask.shape[-2:] != image.shape[-2:]:
            raise DataError(
                f"InpaintingNetwork: mask of shape {tuple(mask.shape)} does not fit images of "
                f"shape {tuple(image.shape)}; expected (B, 1, H, W)"
            )
        full = mask.flatten(1).bool().all(dim=1)
        if full.any():
            raise DataError(
                f"InpaintingNetwork: the mask of image {int(full.nonzero()[0])} in the batch "
                "covers every pixel; nothing is left to reconstruct from"
            )
        maps = self.backbone.forward_maps(image, self.head.map_indices)
        return self.head(maps, image, mask)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The composite: prediction in masked pixels, the input image elsewhere."""
        return composite(self.decode(image, mask), image, mask)


def composite(prediction: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``prediction`` where ``mask`` (B, 1, H, W) is 1, ``image`` elsewhere."""
    return torch.where(mask.bool(), prediction, image)
