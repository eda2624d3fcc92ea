"""Classical inpainting baseline: biharmonic interpolation of masked pixels (scikit-image)."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from skimage.restoration import inpaint_biharmonic

from galvision.errors import DataError


def worker_count(workers: int | None = None) -> int:
    """``workers``, or by default one process per core (at most 8)."""
    return workers or min(8, os.cpu_count() or 1)


def biharmonic_inpaint(
    images: np.ndarray, masks: np.ndarray, workers: int | None = None
) -> np.ndarray:
    """Fill the pixels of (N, C, H, W) images where ``masks`` (N, 1, H, W) or (N, H, W) is 1.

    Images are spread over processes (:func:`worker_count`): scikit-image's solver holds the GIL
    for much of its work, so threads would barely help.
    """
    images = np.asarray(images, dtype=np.float32)
    masks = np.asarray(masks).astype(bool)
    if masks.ndim == 4:
        masks = masks[:, 0]
    if images.ndim != 4 or masks.shape != (images.shape[0], *images.shape[-2:]):
        raise DataError(
            f"biharmonic_inpaint: masks of shape {masks.shape} do not fit images of shape "
            f"{images.shape}; expected (N, C, H, W) images and (N, H, W) masks"
        )
    workers = worker_count(workers)
    if workers == 1 or len(images) == 1:
        return np.stack(
            [_inpaint_one(image, mask) for image, mask in zip(images, masks, strict=True)]
        )
    with ProcessPoolExecutor(workers) as pool:
        chunk = max(1, len(images) // (4 * workers))
        return np.stack(list(pool.map(_inpaint_one, images, masks, chunksize=chunk)))


def _inpaint_one(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """One (C, H, W) image inpainted where ``mask`` (H, W) is True."""
    if not mask.any():
        return image
    if mask.all():
        raise DataError("biharmonic_inpaint: a mask covers every pixel of its image")
    return inpaint_biharmonic(image, mask, channel_axis=0).astype(np.float32, copy=False)
