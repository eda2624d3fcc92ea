"""Lightning callbacks: prediction writers, figures, and what checkpoints carry."""

from galvision.callbacks.classification_writer import ClassificationWriter
from galvision.callbacks.detection_writer import DetectionWriter
from galvision.callbacks.embedding_writer import EmbeddingWriter
from galvision.callbacks.foundation import PublishFoundation
from galvision.callbacks.random_state import RandomStateCheckpoint
from galvision.callbacks.restored_writer import RestoredImageWriter
from galvision.callbacks.task_proportions import TaskProportionsPlot

__all__ = [
    "ClassificationWriter",
    "DetectionWriter",
    "EmbeddingWriter",
    "PublishFoundation",
    "RandomStateCheckpoint",
    "RestoredImageWriter",
    "TaskProportionsPlot",
]
