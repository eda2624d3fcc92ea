"""Lightning callbacks: prediction writers and figures."""

from galvision.callbacks.detection_writer import DetectionWriter
from galvision.callbacks.restored_writer import RestoredImageWriter

__all__ = ["DetectionWriter", "RestoredImageWriter"]
