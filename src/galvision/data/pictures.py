"""PNG/JPEG pictures as display-space bands, bluest first (g, r, z from B, G, R)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image


def channels_last_to_bands(pixels: np.ndarray) -> np.ndarray:
    """(H, W, C) picture channels (reddest first) as (C, H, W) bands, bluest first."""
    return np.ascontiguousarray(pixels[..., ::-1].transpose(2, 0, 1))


def decode_picture(source: Path | bytes) -> np.ndarray:
    """A PNG/JPEG file or its bytes as display-space (C, H, W) float32; grey pictures are 1 band."""
    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as picture:
        picture.load()
        if picture.mode.startswith("I;16"):
            return np.asarray(picture, dtype=np.float32)[None] / 65535.0
        if picture.mode in ("1", "L", "LA"):
            return np.asarray(picture.convert("L"), dtype=np.float32)[None] / 255.0
        return channels_last_to_bands(np.asarray(picture.convert("RGB"), dtype=np.float32) / 255.0)
