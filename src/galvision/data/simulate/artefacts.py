"""Imaging artefacts planted on clean galaxies: satellite trails and saturated stars.

Both are drawn in linear flux on the clean image, so the survey observation (PSF, noise,
display stretch) treats them as it treats the sky: a trail is a straight band of constant
surface brightness across the stamp; a saturated star is a point source far brighter than the
galaxy with a bleed trail along the detector columns, as CCDs show when a well overflows.
"""

from __future__ import annotations

import numpy as np

TRAIL_WIDTH = (0.8, 2.0)  # pixels
STAR_FLUX_OVER_GALAXY = (20.0, 200.0)
BLEED_LENGTH = (0.2, 0.6)  # of the stamp side, each way
BLEED_OVER_GALAXY_PEAK = (3.0, 10.0)


def satellite_trail(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``clean`` (C, H, W) with a straight trail across it, as bright as the galaxy's core."""
    _, height, width = clean.shape
    y, x = np.mgrid[:height, :width].astype(np.float64)
    angle = rng.uniform(0, np.pi)
    through = rng.uniform(0.2, 0.8, size=2) * (width, height)
    distance = np.abs((x - through[0]) * np.sin(angle) - (y - through[1]) * np.cos(angle))
    band = np.clip(rng.uniform(*TRAIL_WIDTH) / 2 + 0.5 - distance, 0, 1)
    level = clean.max(axis=(1, 2), keepdims=True) * rng.uniform(0.3, 1.0)
    return clean + level * band[None]


def saturated_star(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``clean`` with a star tens to hundreds of times the galaxy's flux, and its bleed trail."""
    _, height, width = clean.shape
    y, x = np.mgrid[:height, :width].astype(np.float64)
    centre = rng.uniform(0.15, 0.85, size=2) * (width, height)
    core = np.exp(-((x - centre[0]) ** 2 + (y - centre[1]) ** 2) / (2 * 0.6**2))
    flux = clean.sum(axis=(1, 2), keepdims=True) * rng.uniform(*STAR_FLUX_OVER_GALAXY)
    star = flux * core[None] / core.sum()
    reach = rng.uniform(*BLEED_LENGTH) * height
    column = (np.abs(x - round(centre[0])) < 0.5) & (np.abs(y - centre[1]) < reach)
    # The overflowing charge runs along the column at a few times the galaxy's peak: enough to
    # saturate the display, as a full well does, without outshining the star itself.
    bleed = clean.max(axis=(1, 2), keepdims=True) * rng.uniform(*BLEED_OVER_GALAXY_PEAK)
    return clean + star + bleed * column[None]
