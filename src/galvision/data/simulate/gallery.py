"""A picture of examples of every morphology class, clean or through a seeing PSF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.signal import fftconvolve

from galvision.data.intensity import to_display
from galvision.data.simulate.classes import CLASS_NAMES
from galvision.data.simulate.config import SurveyConfig
from galvision.data.simulate.morphology import sample_morphology_parameters
from galvision.data.simulate.morphology_render import draw_morphology
from galvision.data.simulate.psf import MOFFAT, draw_ground_psf
from galvision.plotting import save_image_grid

GALLERY_STREAM = 2  # apart from the survey's galaxy and PSF streams
MOFFAT_BETA = 3.5


def _example(config: SurveyConfig, label: int, k: int) -> np.ndarray:
    """The k-th example galaxy of class `label`."""
    rng = np.random.default_rng([config.seed, GALLERY_STREAM, label, k])
    return draw_morphology(sample_morphology_parameters(rng, config, label), config)


def morphology_examples(config: SurveyConfig, per_class: int) -> np.ndarray:
    """(classes, per_class, bands, H, W) clean images in nanomaggies, seeded by the config."""
    labels = range(len(CLASS_NAMES))
    return np.stack([[_example(config, label, k) for k in range(per_class)] for label in labels])


def save_morphology_gallery(
    path: Path, config: SurveyConfig, per_class: int = 6, psf_fwhm: float | None = None
) -> Path:
    """PNG with one row of `per_class` examples per class, seen through a Moffat PSF if given.

    Args:
        path: Where to write the PNG.
        config: Survey settings: bands, stamp, pixel scale, magnitudes and seed.
        per_class: Examples in each row.
        psf_fwhm: r-band FWHM in arcsec of a round Moffat seeing PSF; None shows clean images.
    """
    images = morphology_examples(config, per_class)
    if psf_fwhm is not None:
        psf = draw_ground_psf(psf_fwhm, 0.0, 0.0, MOFFAT, MOFFAT_BETA, config)
        images = fftconvolve(images, psf[None, None], mode="same", axes=(-2, -1))
    columns = {f"example {k + 1}": to_display(images[:, k]) for k in range(per_class)}
    return save_image_grid(columns, Path(path), captions=list(CLASS_NAMES))
