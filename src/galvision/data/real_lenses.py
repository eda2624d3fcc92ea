"""Single-band HST images redrawn as clean survey fields: a first look at real lenses.

HST stamps (0.03-0.05″ pixels, PSF ~0.1″) are far sharper than a ground survey, so each is
interpolated (GalSim ``InterpolatedImage``) and drawn at the survey pixel scale in the centre of
an empty field without deconvolving its own PSF. One band cannot give colours, so every band
gets the same image scaled to an r-band magnitude and (g-r, r-z) colours: those of the
simulated deflectors, which dominate a galaxy-scale lens's light. The survey PSF and noise
are added later on the device, as for simulated fields.
"""

from __future__ import annotations

from pathlib import Path

import galsim
import h5py
import numpy as np

from galvision.data.intensity import magnitude_to_flux
from galvision.data.real_truth import render_cosmos
from galvision.data.simulate.galaxies import band_fluxes
from galvision.data.simulate.lenses import LENS_COLOURS
from galvision.errors import DataError

DEFAULT_MAGNITUDE = 18.5  # r band: a bright SLACS-like deflector


def as_survey_field(
    image: np.ndarray, mag: float, colours: tuple[float, float], bands: tuple[str, ...]
) -> np.ndarray:
    """A 2-D image scaled to total r magnitude ``mag``, repeated over bands with ``colours``."""
    total = float(image.sum())
    if not total > 0:
        raise DataError(f"an image with total flux {total} cannot be scaled to a magnitude")
    unit = image / total
    fluxes = band_fluxes(float(magnitude_to_flux(mag)), *colours, bands)
    return np.stack([unit * flux for flux in fluxes]).astype(np.float32)


def render_hst_images(
    file: str | Path, size: int, pixel_scale: float
) -> list[tuple[str, np.ndarray]]:
    """Named 2-D images from ``image/<key>`` stamps with their ``pixel_scale`` and ``name``."""
    file = Path(file)
    try:
        with h5py.File(file, "r") as f:
            keys = sorted(f["image"])
            scales, names = f["pixel_scale"][()], f["name"][()]
            stamps = [f["image"][key][()] for key in keys]
    except (OSError, KeyError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(
            f"{file}: not an HST image file with image/, pixel_scale, name ({reason})"
        ) from None
    rendered = []
    for stamp, scale, name in zip(stamps, scales, names, strict=True):
        name = name.decode() if isinstance(name, bytes) else str(name)
        if not np.isfinite(stamp).all():
            raise DataError(f"{file}: image {name} has non-finite pixels")
        profile = galsim.InterpolatedImage(
            galsim.Image(stamp.astype(np.float64), scale=float(scale))
        )
        # The stamp's pixels are already in the interpolant: no second pixel convolution.
        image = profile.drawImage(nx=size, ny=size, scale=pixel_scale, method="no_pixel")
        rendered.append((name, image.array))
    return rendered


def real_fields(
    file: str | Path,
    size: int,
    bands: tuple[str, ...] = ("g", "r", "z"),
    pixel_scale: float = 0.262,
    mag: float = DEFAULT_MAGNITUDE,
    colours: tuple[float, float] = LENS_COLOURS,
) -> tuple[np.ndarray, list[str]]:
    """Clean (N, bands, size, size) fields and names from an HST image file or a COSMOS file.

    COSMOS files (``gal/``, ``psf/``, ``mag``) are rendered with the RealGalaxy recipe of
    :func:`galvision.data.real_truth.render_cosmos`; both are then scaled to ``mag``.
    """
    with h5py.File(file, "r") as f:
        cosmos = all(key in f for key in ("gal", "psf", "mag"))
    named = (
        [(name, image[0]) for name, image in render_cosmos(file, size, pixel_scale)]
        if cosmos
        else render_hst_images(file, size, pixel_scale)
    )
    fields = [as_survey_field(image, mag, colours, bands) for _, image in named]
    return np.stack(fields), [name for name, _ in named]
