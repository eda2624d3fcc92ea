"""On-device batch transforms: observation (PSF blur + noise), inpainting masks, dihedral turns."""

from galvision.transforms.base import BatchTransform, apply_transforms
from galvision.transforms.dihedral import DIHEDRAL_ORDER, IndexedDihedral, RandomDihedral, dihedral
from galvision.transforms.inpainting import MaskPixels
from galvision.transforms.masking import MaskGenerator
from galvision.transforms.observation import Observe, convolve
from galvision.transforms.psf import RedrawPSF

__all__ = [
    "DIHEDRAL_ORDER",
    "BatchTransform",
    "IndexedDihedral",
    "MaskGenerator",
    "MaskPixels",
    "Observe",
    "RandomDihedral",
    "RedrawPSF",
    "apply_transforms",
    "convolve",
    "dihedral",
]
