"""Ground-based seeing PSFs and the narrow target PSF, one unit-sum image per band."""

from __future__ import annotations

import math

import galsim
import numpy as np

from galvision.data.simulate.config import SurveyConfig

WAVELENGTHS = {"u": 365.0, "g": 480.0, "r": 640.0, "i": 780.0, "z": 920.0, "y": 1000.0}  # nm
SEEING_EXPONENT = -0.2  # Kolmogorov turbulence: FWHM ~ wavelength^-0.2
MOFFAT_BETA_RANGE = (2.5, 4.5)
MAX_ELLIPTICITY = 0.05
KOLMOGOROV, MOFFAT, SPACE = 0, 1, 2
OBSCURATION = 0.33  # linear central obscuration of HST's and Euclid's apertures, roughly


def band_fwhm(fwhm_r: float, band: str) -> float:
    """Seeing FWHM in arcsec of a band given the r-band value."""
    return fwhm_r * (WAVELENGTHS[band] / WAVELENGTHS["r"]) ** SEEING_EXPONENT


def sample_psf_parameters(rng: np.random.Generator, config: SurveyConfig) -> dict[str, float]:
    """Draw FWHM (r-band seeing, or space jitter), profile kind, Moffat beta and ellipticity.

    Kind 0 is Kolmogorov and 1 Moffat for ground presets; space presets always give 2.
    """
    fwhm = rng.uniform(*config.psf_bank_fwhm_range)
    kind = rng.integers(0, 2) if config.preset.psf_profile == "ground" else SPACE
    beta = rng.uniform(*MOFFAT_BETA_RANGE)
    ellipticity = rng.uniform(0.0, MAX_ELLIPTICITY)
    angle = rng.uniform(0.0, math.pi)
    return {
        "fwhm": float(fwhm),
        "kind": float(kind),
        "beta": float(beta),
        "e1": float(ellipticity * math.cos(2.0 * angle)),
        "e2": float(ellipticity * math.sin(2.0 * angle)),
    }


def _render(profile: galsim.GSObject, config: SurveyConfig) -> np.ndarray:
    """Sample a profile without pixel response and normalise it to unit sum."""
    size = config.psf_size
    image = profile.drawImage(nx=size, ny=size, scale=config.pixel_scale, method="no_pixel")
    array = image.array.astype(np.float64)
    return array / array.sum()


def draw_ground_psf(
    fwhm_r: float, e1: float, e2: float, kind: float, beta: float, config: SurveyConfig
) -> np.ndarray:
    """Render a seeing (or space) PSF as (bands, k, k) float32, unit sum per band.

    Args:
        fwhm_r: r-band FWHM in arcsec (other bands scale as wavelength^-0.2), or the
            jitter FWHM of a space PSF.
        e1: First distortion component, (a^2 - b^2) / (a^2 + b^2) along x.
        e2: Second distortion component, along the diagonal.
        kind: 0 for Kolmogorov, 1 for Moffat, 2 for space (Airy and jitter).
        beta: Moffat slope, ignored for Kolmogorov.
        config: The survey, for bands, pixel scale and PSF size.
    """
    # The galaxy images already include the pixel, so the PSF is sampled without it.
    shear = galsim.Shear(e1=e1, e2=e2)
    images = []
    for band in config.bands:
        fwhm = band_fwhm(fwhm_r, band)
        if int(kind) == SPACE:
            profile = _space_psf(fwhm_r, band, config)
        elif int(kind) == MOFFAT:
            profile = galsim.Moffat(beta=beta, fwhm=fwhm)
        else:
            profile = galsim.Kolmogorov(fwhm=fwhm)
        images.append(_render(profile.shear(shear), config))
    return np.stack(images).astype(np.float32)


def _space_psf(jitter_fwhm: float, band: str, config: SurveyConfig) -> galsim.GSObject:
    """Diffraction by an obscured circular aperture, blurred by Gaussian pointing jitter."""
    airy = galsim.Airy(
        lam=WAVELENGTHS[band],
        diam=config.preset.telescope_diameter,
        obscuration=OBSCURATION,
        scale_unit=galsim.arcsec,
    )
    return galsim.Convolve(airy, galsim.Gaussian(fwhm=jitter_fwhm))


def draw_target_psf(config: SurveyConfig) -> np.ndarray:
    """Render the narrow Gaussian target PSF as (bands, k, k) float32, unit sum per band."""
    image = _render(galsim.Gaussian(fwhm=config.target_fwhm), config)
    return np.repeat(image[None], len(config.bands), axis=0).astype(np.float32)
