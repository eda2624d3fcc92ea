"""The one intensity scaling of galvision: linear flux (nanomaggies) <-> display space [0, 1].

Models see and produce display-space images; every image metric is computed in display space
with ``data_range = DATA_RANGE``. Display space is an arcsinh stretch (Lupton et al. 1999),
``asinh(flux / softening) / asinh(saturation / softening)``, which keeps faint outskirts and
bright cores both visible; values above ``saturation`` map above 1 and are clipped in targets.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import torch

from galvision.errors import DataError

log = logging.getLogger(__name__)
SOFTENING = 0.05  # nanomaggies: about 2-4 times the sky noise per pixel of a DECaLS-depth image
SATURATION = 100.0  # nanomaggies per pixel mapped to display value 1
DATA_RANGE = 1.0
# Fractions of pixels beyond the display range above which an image is refused (most likely in
# other units than nanomaggies) or warned about; models never see targets beyond it.
MAX_BEYOND_RANGE = 0.1
WARN_BEYOND_RANGE = 0.01
_NORM = math.asinh(SATURATION / SOFTENING)

ArrayLike = torch.Tensor | np.ndarray


def to_display(flux: ArrayLike) -> ArrayLike:
    """Map linear flux (nanomaggies per pixel) to display space."""
    if isinstance(flux, torch.Tensor):
        return torch.asinh(flux / SOFTENING) / _NORM
    return np.arcsinh(np.asarray(flux) / SOFTENING) / _NORM


def to_flux(display: ArrayLike) -> ArrayLike:
    """Map display-space values back to linear flux (nanomaggies per pixel)."""
    if isinstance(display, torch.Tensor):
        return torch.sinh(display * _NORM) * SOFTENING
    return np.sinh(np.asarray(display) * _NORM) * SOFTENING


def magnitude_to_flux(mag: ArrayLike) -> ArrayLike:
    """AB magnitude to flux in nanomaggies (zero point 22.5)."""
    return 10.0 ** ((22.5 - np.asarray(mag)) / 2.5)


def beyond_range_fraction(flux: np.ndarray) -> float:
    """Fraction of pixels beyond the display range, with ``|flux|`` above ``SATURATION``."""
    values = np.abs(np.asarray(flux))
    # The margin keeps 8-bit pictures, whose 255 maps to SATURATION give or take rounding, inside.
    return float(np.mean(values > SATURATION * (1 + 1e-4))) if values.size else 0.0


def check_display_range(flux: np.ndarray, source: str) -> None:
    """Refuse an image mostly beyond the display range; warn when a few percent of it are."""
    fraction = beyond_range_fraction(flux)
    if fraction > MAX_BEYOND_RANGE:
        raise DataError(
            f"{source}: {fraction:.1%} of pixels are beyond ±{SATURATION:g} nanomaggies, the "
            "display range, so the image saturates (other units than nanomaggies? set flux_scale)"
        )
    if fraction > WARN_BEYOND_RANGE:
        log.warning(
            "%s: %.1f%% of pixels are beyond ±%g nanomaggies, the display range; "
            "results there are unreliable",
            source,
            100 * fraction,
            SATURATION,
        )
