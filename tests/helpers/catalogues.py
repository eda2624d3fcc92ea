"""Small catalogue files in the layouts galvision reads."""

import io
from pathlib import Path

import h5py
import numpy as np
from PIL import Image

GZ1_CLASSES = ["elliptical", "spiral_cw", "spiral_acw", "edge_on", "dont_know", "merger"]


def write_gz1(path: Path, per_class: int = 8, side: int = 40) -> Path:
    """A GZ1-layout file: JPEG bytes, objid and labels with their names, random pictures."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(len(GZ1_CLASSES)), per_class).astype(np.int8)
    with h5py.File(path, "w") as file:
        data = file.create_dataset("jpeg", (len(labels),), dtype=h5py.vlen_dtype(np.uint8))
        for row in range(len(labels)):
            picture = rng.integers(0, 255, (side, side, 3), dtype=np.uint8)
            buffer = io.BytesIO()
            Image.fromarray(picture).save(buffer, format="JPEG")
            data[row] = np.frombuffer(buffer.getvalue(), dtype=np.uint8)
        file["label"] = labels
        file["objid"] = np.arange(len(labels), dtype=np.int64) + 1000
        file.attrs["label_names"] = GZ1_CLASSES
    return path
