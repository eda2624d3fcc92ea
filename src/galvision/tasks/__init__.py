"""LightningModules: the shared GalaxyTask template and one module per task."""

from galvision.tasks.base import GalaxyTask
from galvision.tasks.deconvolution import DeconvolutionTask

__all__ = ["DeconvolutionTask", "GalaxyTask"]
