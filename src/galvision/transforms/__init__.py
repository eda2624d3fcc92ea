"""On-device batch transforms: observation (PSF blur + noise), inpainting masks, rotations."""

from galvision.transforms.base import BatchTransform, apply_transforms
from galvision.transforms.dihedral import DIHEDRAL_ORDER, RandomDihedral, dihedral
from galvision.transforms.inpainting import MaskPixels
from galvision.transforms.masking import MaskGenerator
from galvision.transforms.observation import Observe, convolve
from galvision.transforms.rotation import SmallRotation

__all__ = [
    "DIHEDRAL_ORDER",
    "BatchTransform",
    "MaskGenerator",
    "MaskPixels",
    "Observe",
    "RandomDihedral",
    "SmallRotation",
    "apply_transforms",
    "convolve",
    "dihedral",
]
