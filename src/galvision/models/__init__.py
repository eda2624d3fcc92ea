"""Networks: a backbone with its head, plain nn.Modules usable and exportable without Lightning."""

from galvision.models.classifier import Classifier
from galvision.models.contrastive import ContrastiveNetwork
from galvision.models.detector import CenterNetDetector
from galvision.models.mae import MaskedAutoencoder
from galvision.models.restoration import DeconvolutionNetwork, InpaintingNetwork, composite

__all__ = [
    "CenterNetDetector",
    "Classifier",
    "ContrastiveNetwork",
    "DeconvolutionNetwork",
    "InpaintingNetwork",
    "MaskedAutoencoder",
    "composite",
]
