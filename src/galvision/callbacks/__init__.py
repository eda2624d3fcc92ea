"""Lightning callbacks: prediction writers and figures."""

from galvision.callbacks.restored_writer import RestoredImageWriter

__all__ = ["RestoredImageWriter"]
