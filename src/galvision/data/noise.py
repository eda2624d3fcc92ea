"""Survey noise by band name: the sky noise and gain an observation of each band is made with.

DECaLS (Dey et al. 2019): per-pixel sky noise in nanomaggies at 0.262″ for the 5-sigma point-source
depths g 24.0, r 23.4, z 22.5 (1.2″ seeing), and electrons per nanomaggy for a 90 s exposure.
DECam's i band, which DECaLS does not observe, is set at a depth of 23.0 between r and z.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from galvision.errors import ConfigError

SKY_SIGMA = {"g": 0.0073, "r": 0.0127, "i": 0.0184, "z": 0.029}
GAIN = {"g": 2600.0, "r": 3600.0, "i": 2600.0, "z": 1400.0}


def band_noise(bands: Sequence[str], key: str = "bands") -> tuple[torch.Tensor, torch.Tensor]:
    """Sky sigma and gain (C,) of ``bands``; an unknown band is a ConfigError naming ``key``."""
    unknown = [band for band in bands if band not in SKY_SIGMA]
    if unknown:
        raise ConfigError(
            f"{key}: no noise model for band {unknown[0]!r}; galvision.data.noise knows "
            f"{', '.join(SKY_SIGMA)}"
        )
    return (
        torch.tensor([SKY_SIGMA[band] for band in bands]),
        torch.tensor([GAIN[band] for band in bands]),
    )
