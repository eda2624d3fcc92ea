"""Pictures of display-space images: 8-bit RGB (z, r, g) or greyscale, and labelled grids."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def display_rgb(display: np.ndarray, brightness: float = 1.0) -> np.ndarray:
    """(C, H, W) display space to 8-bit greyscale (H, W), or RGB (H, W, 3) from bands z, r, g."""
    bands = display[:3][::-1] if len(display) >= 3 else display[:1]
    pixels = (
        np.rint(np.clip(bands * brightness, 0.0, 1.0) * 255).astype(np.uint8).transpose(1, 2, 0)
    )
    return pixels[..., 0] if pixels.shape[-1] == 1 else pixels


def save_image_grid(
    panels: Mapping[str, np.ndarray],
    path: Path,
    captions: Sequence[str] | None = None,
    crop: int | None = None,
    brightness: float = 1.0,
) -> Path:
    """One column per named panel set (N, C, H, W display space), one row per image.

    ``crop`` keeps the central ``crop``×``crop`` pixels; ``brightness`` scales display values
    for viewing only.
    """
    names = list(panels)
    rows = len(next(iter(panels.values())))
    figure, axes = plt.subplots(
        rows, len(names), figsize=(1.9 * len(names), 1.9 * rows), squeeze=False
    )
    for row in range(rows):
        for column, name in enumerate(names):
            axis = axes[row, column]
            image = np.asarray(panels[name][row])
            if crop:
                top = (image.shape[-1] - crop) // 2
                image = image[..., top : top + crop, top : top + crop]
            axis.imshow(
                display_rgb(image, brightness),
                cmap="gray",
                vmin=0,
                vmax=255,
                interpolation="nearest",
            )
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(name, fontsize=9)
            if column == 0 and captions:
                axis.set_ylabel(captions[row], fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def save_ranked_mosaic(images: np.ndarray, path: Path, columns: int = 4) -> Path:
    """Images (N, C, H, W) in rank order, ``columns`` to a line, each line captioned by ranks."""
    count = -(-len(images) // columns) * columns
    padded = np.zeros((count, *images.shape[1:]), dtype=np.float32)
    padded[: len(images)] = images
    # Column titles must differ; blank ones of different lengths keep the picture clean.
    panels = {" " * (column + 1): padded[column::columns] for column in range(columns)}
    captions = [f"ranks {first + 1}–{first + columns}" for first in range(0, count, columns)]
    return save_image_grid(panels, path, captions=captions)
