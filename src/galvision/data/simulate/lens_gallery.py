"""A picture of simulated lens fields with their boxes, clean and through a ground-based PSF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.signal import fftconvolve

from galvision.data.intensity import to_display
from galvision.data.simulate.lens_config import LensFieldConfig
from galvision.data.simulate.lens_fields import Field, render_field
from galvision.data.simulate.psf import draw_ground_psf, sample_psf_parameters
from galvision.data.simulate.survey import psf_rng
from galvision.plotting import save_image_grid

ZOOM = 48  # pixels of the close-up around the first lens
BRIGHTNESS = 2.0  # display scaling for viewing: arcs are faint beside the deflector
BOX_COLOUR = (0.0, 1.0, 0.0)  # display values per band (g, r, z): green outlines


def draw_boxes(display: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """A copy of (C, H, W) display-space pixels with box outlines burnt in."""
    image = display.copy()
    colour = np.array(BOX_COLOUR[: len(image)])[:, None]
    size = image.shape[-1]
    for box in boxes:
        x0, y0 = (int(np.clip(np.floor(v), 0, size - 1)) for v in box[:2])
        x1, y1 = (int(np.clip(np.ceil(v) - 1, 0, size - 1)) for v in box[2:])
        image[:, y0, x0 : x1 + 1] = image[:, y1, x0 : x1 + 1] = colour
        image[:, y0 : y1 + 1, x0] = image[:, y0 : y1 + 1, x1] = colour
    return image


def _seeing(field: Field, config: LensFieldConfig, index: int) -> np.ndarray:
    """The field through ground PSF `index % n_psfs` of the bank."""
    survey = config.survey()
    p = sample_psf_parameters(psf_rng(survey, index % config.n_psfs), survey)
    psf = draw_ground_psf(p["fwhm"], p["e1"], p["e2"], p["kind"], p["beta"], survey)
    return fftconvolve(field.clean, psf, mode="same", axes=(-2, -1))


def _zoom_corner(box: np.ndarray, size: int) -> tuple[int, int]:
    """Column and row of the corner of a close-up centred on a box, kept inside the field."""
    side = min(ZOOM, size)
    left = int(np.clip(round((box[0] + box[2] - side) / 2), 0, size - side))
    top = int(np.clip(round((box[1] + box[3] - side) / 2), 0, size - side))
    return left, top


def _close_up(display: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """The first box and its surroundings, outlined, ZOOM pixels wide."""
    size = display.shape[-1]
    left, top = _zoom_corner(boxes[0], size)
    side = min(ZOOM, size)
    shifted = boxes[:1] - np.array([left, top, left, top], dtype=np.float32)
    return draw_boxes(display[:, top : top + side, left : left + side], shifted)


def save_lens_gallery(config: LensFieldConfig, path: Path, n: int = 6) -> Path:
    """PNG of the first `n` fields holding a lens: clean, through seeing, and a close-up."""
    names = ("clean", "seeing", "clean, first lens", "seeing, first lens")
    columns: dict[str, list[np.ndarray]] = {name: [] for name in names}
    captions = []
    for index in range(config.n_fields):
        if len(captions) == n:
            break
        field = render_field(config, index)
        if not len(field.boxes):
            continue
        clean, seen = to_display(field.clean), to_display(_seeing(field, config, index))
        columns["clean"].append(draw_boxes(clean, field.boxes))
        columns["seeing"].append(draw_boxes(seen, field.boxes))
        columns["clean, first lens"].append(_close_up(clean, field.boxes))
        columns["seeing, first lens"].append(_close_up(seen, field.boxes))
        theta = ", ".join(f"{p['theta_e']:.1f}" for p in field.lens_params)
        captions.append(f'field {index}, θE {theta}"')
    panels = {name: np.stack(images) for name, images in columns.items()}
    return save_image_grid(panels, Path(path), captions=captions, brightness=BRIGHTNESS)
