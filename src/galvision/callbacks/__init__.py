"""Lightning callbacks: prediction writers and figures."""

from galvision.callbacks.classification_writer import ClassificationWriter
from galvision.callbacks.detection_writer import DetectionWriter
from galvision.callbacks.embedding_writer import EmbeddingWriter
from galvision.callbacks.foundation import PublishFoundation
from galvision.callbacks.restored_writer import RestoredImageWriter
from galvision.callbacks.task_proportions import TaskProportionsPlot

__all__ = [
    "ClassificationWriter",
    "DetectionWriter",
    "EmbeddingWriter",
    "PublishFoundation",
    "RestoredImageWriter",
    "TaskProportionsPlot",
]
