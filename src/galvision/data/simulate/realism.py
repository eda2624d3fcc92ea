"""Realistic galaxies: star-forming knots, flocculent arms, dust lanes and colours by type.

The analytic model draws smooth, symmetric components with fixed colours per component. Real
disks are clumpy: star formation sits in knots scattered over the disk and strung along the
arms, bluer than the disk (e.g. Elmegreen & Elmegreen 2005 for clump light fractions of
~10-40 % in star-forming disks); arms vary in width and brightness (flocculent arms, Elmegreen
1981); edge-on disks show a dust lane, and colours follow the galaxy's type: the red sequence
at g-r ≈ 0.75 ± 0.05 and the blue cloud bluer and wider (Strateva et al. 2001; Blanton &
Moustakas 2009). ``galaxies: realistic`` in the survey config draws these parameters too.
"""

from __future__ import annotations

import math

import numpy as np

from galvision.data.simulate import classes

# Per-galaxy colours (g-r, its scatter) of each class's disk; r-z follows the blue cloud's
# colour-colour relation r-z ≈ 0.5 (g-r) + 0.1 with 0.04 scatter.
RED_SEQUENCE = (0.76, 0.05)  # smooth galaxies, bulges and bars: g-r
RED_SEQUENCE_R_Z = (0.62, 0.06)
DISK_G_R = {
    classes.EDGE_ON_NO_BULGE: (0.65, 0.10),  # reddened through the disk's own dust
    classes.EDGE_ON_WITH_BULGE: (0.68, 0.08),
    classes.UNBARRED_TIGHT_SPIRAL: (0.58, 0.08),
    classes.UNBARRED_LOOSE_SPIRAL: (0.42, 0.10),
    classes.BARRED_SPIRAL: (0.55, 0.08),
    classes.MERGER: (0.52, 0.12),
    classes.RING: (0.55, 0.08),
}
YOUNG_SHIFT = (0.15, 0.40)  # knots, arms and rings are bluer than their disk by this in g-r
MIN_G_R = 0.0
# Extinction per band relative to r for a Milky-Way-like law, A_band / A_r.
EXTINCTION = {"u": 1.85, "g": 1.38, "r": 1.0, "i": 0.76, "z": 0.54, "y": 0.45}
KNOTTY = {
    classes.UNBARRED_TIGHT_SPIRAL: (0.10, 0.25),
    classes.UNBARRED_LOOSE_SPIRAL: (0.20, 0.40),
    classes.BARRED_SPIRAL: (0.10, 0.30),
    classes.RING: (0.10, 0.25),
    classes.MERGER: (0.10, 0.30),
}  # share of the disk's light in knots, by class
KNOT_COUNT = (15, 60)
KNOT_SIZE = (0.08, 0.2)  # arcsec, Gaussian sigma of one knot
ARM_KNOT_FRAC = (0.2, 0.5)  # share of the arms' light strung along them in knots
FLOCCULENCE = (0.3, 1.0)  # relative amplitude of the brightness and width variations of arms
DUST_DEPTH = (0.3, 0.6)  # r-band share of an edge-on disk's light absorbed along its midplane
TAIL_ASYMMETRY = (0.3, 1.0)  # second tidal tail's length over the first's

REALISM_PARAMETERS = {
    "knot_frac": "share of the disk's r-band light in star-forming knots",
    "knot_count": "number of knots scattered over the disk",
    "knot_size": "arcsec, Gaussian sigma of a knot",
    "arm_knot_frac": "share of the arms' r-band light in knots strung along them",
    "flocculence": "relative amplitude of the arms' brightness and width variations",
    "dust_depth": "share of an edge-on disk's r-band light its dust lane absorbs in the midplane",
    "tail_asymmetry": "length of the second tidal tail over the first's",
    "texture_seed": "seed of the knots' positions and the arms' variations",
}


def _colours(rng: np.random.Generator, name: str) -> dict[str, float]:
    """Per-galaxy colours of each population for a galaxy of class ``name``."""
    bulge_g_r = rng.normal(*RED_SEQUENCE)
    bulge_r_z = rng.normal(*RED_SEQUENCE_R_Z)
    colours = {"bulge_g_r": bulge_g_r, "bulge_r_z": bulge_r_z}
    if name not in DISK_G_R:
        return colours
    disk_g_r = rng.normal(*DISK_G_R[name])
    young_g_r = max(MIN_G_R, disk_g_r - rng.uniform(*YOUNG_SHIFT))
    return colours | {
        "disk_g_r": disk_g_r,
        "disk_r_z": 0.5 * disk_g_r + 0.1 + rng.normal(0.0, 0.04),
        "young_g_r": young_g_r,
        "young_r_z": 0.5 * young_g_r + 0.1 + rng.normal(0.0, 0.04),
    }


def sample_realism(rng: np.random.Generator, name: str, params: dict) -> dict[str, float]:
    """Colours and realistic structure of a galaxy of class ``name`` with ``params`` drawn."""
    extra = _colours(rng, name) | {"texture_seed": float(rng.integers(2**31))}
    if name in KNOTTY:
        extra |= {
            "knot_frac": rng.uniform(*KNOTTY[name]),
            "knot_count": float(rng.integers(*KNOT_COUNT)),
            "knot_size": rng.uniform(*KNOT_SIZE),
        }
    if not math.isnan(params["arm_count"]):
        extra |= {
            "arm_knot_frac": rng.uniform(*ARM_KNOT_FRAC),
            "flocculence": rng.uniform(*FLOCCULENCE),
        }
    if name in (classes.EDGE_ON_NO_BULGE, classes.EDGE_ON_WITH_BULGE):
        extra["dust_depth"] = rng.uniform(*DUST_DEPTH)
    if name == classes.MERGER:
        extra["tail_asymmetry"] = rng.uniform(*TAIL_ASYMMETRY)
    return extra


def lane_fluxes(disk_fluxes: list[float], depth: float, bands: tuple[str, ...]) -> list[float]:
    """Negative flux per band a dust lane takes from a disk's: a larger share in bluer bands."""
    return [-depth * EXTINCTION[band] * flux for band, flux in zip(bands, disk_fluxes, strict=True)]
