"""On-device batch transforms: observation (PSF blur + noise), masks, rotations, jitter."""

from galvision.transforms.base import BatchTransform, apply_transforms
from galvision.transforms.dihedral import DIHEDRAL_ORDER, IndexedDihedral, RandomDihedral, dihedral
from galvision.transforms.inpainting import MaskPixels
from galvision.transforms.jitter import ImageJitter
from galvision.transforms.masking import MaskGenerator
from galvision.transforms.observation import Observe, convolve
from galvision.transforms.psf import RedrawPSF
from galvision.transforms.rotation import SmallRotation

__all__ = [
    "DIHEDRAL_ORDER",
    "BatchTransform",
    "ImageJitter",
    "IndexedDihedral",
    "MaskGenerator",
    "MaskPixels",
    "Observe",
    "RandomDihedral",
    "RedrawPSF",
    "SmallRotation",
    "apply_transforms",
    "convolve",
    "dihedral",
]
