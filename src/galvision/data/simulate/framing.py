"""Galaxy Zoo framing: each galaxy cut out at a pixel scale set by its own size.

Galaxy Zoo cut SDSS galaxies out at 0.024 petrosian R90 per pixel (Lintott et al. 2008), so every
galaxy fills its image alike and the seeing, in pixels, is wider for smaller galaxies. A framed
survey renders each galaxy at such a pixel scale, in the survey's pixel units of surface brightness.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from scipy.special import gammaincinv

from galvision.data.simulate.config import SurveyConfig

KERNEL_SIZE = 15  # pixels of the noise kernel, room for 4 sigma of a 3.5-times resampling
# Bilinear interpolation of white noise: variance (2/3)^2 of the input's averaged over a pixel.
INTERPOLATED_NOISE = 2.0 / 3.0


def r90_over_r50(sersic_n: float) -> float:
    """Ratio of the radii holding 90 % and 50 % of a Sérsic profile's light."""
    return float((gammaincinv(2 * sersic_n, 0.9) / gammaincinv(2 * sersic_n, 0.5)) ** sersic_n)


def r90(params: dict[str, float]) -> float:
    """Arcsec, 90 %-light radius of a galaxy's main body (a smooth spheroid, else its disk)."""
    smooth = not math.isnan(params["sersic_n"])
    return params["hlr"] * r90_over_r50(params["sersic_n"] if smooth else 1.0)


def frame_scale(params: dict[str, float], config: SurveyConfig) -> float:
    """Arcsec per stamp pixel at which the galaxy spans the preset's frame."""
    return config.preset.frame_r90 * r90(params) / config.stamp_size


def framed(config: SurveyConfig, scale: float) -> SurveyConfig:
    """The survey drawn at ``scale`` arcsec per pixel."""
    return replace(config, pixel_scale=scale)


def surface_brightness_factor(config: SurveyConfig, scale: float) -> float:
    """Multiplier from flux per framed pixel to flux per survey pixel of the same sky."""
    return (config.pixel_scale / scale) ** 2


def draw_framed(
    draw: Callable[[SurveyConfig], np.ndarray], config: SurveyConfig, scale: float
) -> np.ndarray:
    """``draw(config)`` at ``scale`` arcsec per pixel, in survey pixels' surface brightness."""
    return draw(framed(config, scale)) * np.float32(surface_brightness_factor(config, scale))


def noise_kernel(resampling: float) -> np.ndarray:
    """(1, k, k) kernel turning white survey-pixel noise into noise resampled ``resampling``-fold.

    Upsampled (``resampling`` > 1 stamp pixels per survey pixel), the noise is correlated over
    about a survey pixel, a Gaussian of that width, and its level is that of bilinear
    interpolation averaged over the pixel, 2/3 of the survey's. Downsampled, each stamp pixel
    averages ``1 / resampling^2`` survey pixels: a delta scaled by ``resampling``.
    """
    kernel = np.zeros((KERNEL_SIZE, KERNEL_SIZE))
    centre = KERNEL_SIZE // 2
    if resampling <= 1:
        kernel[centre, centre] = resampling
        return kernel[None].astype(np.float32)
    axis = np.arange(KERNEL_SIZE) - centre
    gaussian = np.exp(-0.5 * (axis / (0.5 * resampling)) ** 2)
    kernel = np.outer(gaussian, gaussian)
    return (INTERPOLATED_NOISE * kernel / np.sqrt((kernel**2).sum()))[None].astype(np.float32)
