"""LightningModules: the shared GalaxyTask template and one module per task."""

from galvision.tasks.alignment import AlignmentTask
from galvision.tasks.base import GalaxyTask
from galvision.tasks.classification import ClassificationTask
from galvision.tasks.contrastive import ContrastiveTask
from galvision.tasks.deconvolution import DeconvolutionTask
from galvision.tasks.embedding import EmbeddingTask
from galvision.tasks.lens_detection import LensDetectionTask
from galvision.tasks.multitask import MultiTask
from galvision.tasks.pretrain import MaskedAutoencoderTask
from galvision.tasks.reconstruction import ReconstructionTask
from galvision.tasks.simulation_supervised import SimulationSupervisedTask

__all__ = [
    "AlignmentTask",
    "ClassificationTask",
    "ContrastiveTask",
    "DeconvolutionTask",
    "EmbeddingTask",
    "GalaxyTask",
    "LensDetectionTask",
    "MaskedAutoencoderTask",
    "MultiTask",
    "ReconstructionTask",
    "SimulationSupervisedTask",
]
