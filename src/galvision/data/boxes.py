"""Checks of the boxes that enter with detection data: shape, finiteness, extent."""

from __future__ import annotations

import numpy as np
import torch

from galvision.errors import DataError


def check_boxes(boxes: np.ndarray | torch.Tensor, size: int, where: str) -> None:
    """Raise a one-line DataError unless `boxes` are (n, 4) x0, y0, x1, y1 inside a size² image.

    Args:
        boxes: Pixel coordinates, x along the width; pixel i spans [i, i+1].
        size: Side of the image in pixels.
        where: The source of the boxes, named in the message (a file, a sample).
    """
    array = np.asarray(boxes.cpu() if isinstance(boxes, torch.Tensor) else boxes, dtype=float)
    if array.ndim != 2 or array.shape[1] != 4:
        raise DataError(f"{where}: boxes have shape {array.shape}, expected (n, 4) x0, y0, x1, y1")
    for row, box in enumerate(array):
        if not np.isfinite(box).all():
            raise DataError(f"{where}: box {row} {box.tolist()} is not finite")
        if box[2] <= box[0] or box[3] <= box[1]:
            raise DataError(f"{where}: box {row} {box.tolist()} has non-positive width or height")
        if box[0] < 0 or box[1] < 0 or box[2] > size or box[3] > size:
            raise DataError(f"{where}: box {row} {box.tolist()} leaves the {size}x{size} image")
