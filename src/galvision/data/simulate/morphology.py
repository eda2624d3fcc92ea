"""The physical parameters of galaxies of the ten Galaxy10 DECaLS classes, and their sampling."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from galvision.data.simulate import classes
from galvision.data.simulate.classes import CLASS_NAMES
from galvision.data.simulate.config import SurveyConfig
from galvision.data.simulate.framing import frame_scale
from galvision.data.simulate.galaxies import (
    BULGE_COLOURS,
    COLOUR_SCATTER,
    DISK_COLOURS,
    sample_half_light_radius,
    sample_magnitude,
)
from galvision.data.simulate.morphology_render import component_fluxes, light_fractions
from galvision.data.simulate.realism import REALISM_PARAMETERS, sample_realism

# Stamps are cut out around resolved galaxies, so sizes are bounded to what a 64-pixel DECaLS
# stamp shows whole: about 2-8 pixels of half-light radius.
HLR_AT_19 = 1.0  # arcsec
HLR_SLOPE = -0.1  # dex per magnitude
HLR_SCATTER = 0.1  # dex
HLR_LIMITS = (0.6, 2.0)  # arcsec
SMOOTH_SIZE = 0.75  # spheroids are smaller than disks of the same brightness
YOUNG_COLOURS = (0.15, 0.0)  # star-forming arms and rings are bluer than the disk

# Every galaxy has every parameter, NaN where it does not apply; fluxes flux_<band> follow.
PARAMETERS = {
    "label": "index of the class in CLASS_NAMES",
    "mag_r": "r-band AB magnitude of the whole system",
    "hlr": "arcsec, half-light radius of the main body (the disk, or a smooth galaxy)",
    "q": "minor/major axis ratio of the main body",
    "position_angle": "radians, of the main body's major axis from +x",
    "dx": "pixels, offset of the system's centre from the stamp centre along x",
    "dy": "pixels, offset along y",
    "sersic_n": "Sérsic index of a smooth galaxy",
    "bulge_frac": "share of the galaxy's r-band light in its bulge",
    "bulge_hlr": "arcsec, bulge half-light radius",
    "bulge_n": "bulge Sérsic index",
    "bulge_q": "bulge axis ratio",
    "arm_count": "number of spiral arms",
    "pitch_deg": "degrees, pitch angle of the logarithmic spiral arms",
    "arm_strength": "share of the disk's r-band light in its arms",
    "arm_winding": "+1 or -1, sense in which the arms wind outwards",
    "arm_phase": "radians in the disk plane from the major axis, where the first arm starts",
    "bar_frac": "share of the galaxy's r-band light in its bar",
    "bar_length": "arcsec, half-light semi-major axis of the bar in the disk plane",
    "bar_q": "bar axis ratio in the disk plane",
    "bar_n": "bar Sérsic index",
    "bar_angle": "radians in the disk plane from the major axis",
    "ring_frac": "share of the galaxy's r-band light in its ring",
    "ring_radius": "arcsec, ring radius in the disk plane",
    "ring_width": "arcsec, Gaussian sigma of the ring",
    "companion_sep": "arcsec between the merging galaxies' centres",
    "companion_angle": "radians, direction from the main galaxy to its companion",
    "companion_flux_ratio": "r-band flux of the main galaxy over its companion's",
    "companion_hlr": "arcsec, companion disk half-light radius",
    "companion_q": "companion axis ratio",
    "companion_pa": "radians, companion position angle",
    "tail_count": "number of tidal tails (1: main galaxy only, 2: both galaxies)",
    "tail_frac": "share of the system's r-band light in tidal tails",
    "tail_length": "arcsec along each tail",
    "tail_bend_deg": "degrees each tail turns from its base to its tip, signed",
    "bulge_g_r": "g-r colour of bulges, bars and smooth galaxies",
    "bulge_r_z": "r-z colour of bulges, bars and smooth galaxies",
    "disk_g_r": "g-r colour of disks and tidal tails",
    "disk_r_z": "r-z colour of disks and tidal tails",
    "young_g_r": "g-r colour of spiral arms and rings",
    "young_r_z": "r-z colour of spiral arms and rings",
    "frame_scale": "arcsec per pixel of a galaxy framed by its size (framed presets only)",
    **REALISM_PARAMETERS,
}

Sampler = Callable[[np.random.Generator, float], dict[str, float]]


def _smooth(q_range: tuple[float, float]) -> Sampler:
    """Sampler of a Sérsic spheroid with axis ratios in `q_range`."""

    def sample(rng: np.random.Generator, hlr: float) -> dict[str, float]:
        return {
            "hlr": SMOOTH_SIZE * hlr,
            "sersic_n": rng.uniform(2.5, 5.0),
            "q": rng.uniform(*q_range),
        }

    return sample


def _bulge(
    rng: np.random.Generator,
    hlr: float,
    frac: tuple[float, float],
    size: tuple[float, float] = (0.15, 0.35),
) -> dict[str, float]:
    """A bulge with a share of the light in `frac` and a size in `size` disk half-light radii."""
    return {
        "bulge_frac": rng.uniform(*frac),
        "bulge_hlr": hlr * rng.uniform(*size),
        "bulge_n": rng.uniform(1.5, 4.0),
        "bulge_q": rng.uniform(0.7, 1.0),
    }


def _edge_on(with_bulge: bool) -> Sampler:
    """Sampler of a thin disk seen edge-on, with or without a bulge standing out of it."""

    def sample(rng: np.random.Generator, hlr: float) -> dict[str, float]:
        params = {"q": rng.uniform(0.1, 0.2)}
        if with_bulge:
            params |= _bulge(rng, hlr, frac=(0.2, 0.45), size=(0.3, 0.5))
        return params

    return sample


def _spiral(pitch: tuple[float, float], bulge: tuple[float, float], barred: bool) -> Sampler:
    """Sampler of a moderately inclined disk with logarithmic-spiral arms and maybe a bar."""

    def sample(rng: np.random.Generator, hlr: float) -> dict[str, float]:
        params = _bulge(rng, hlr, bulge) | {
            "q": rng.uniform(0.5, 1.0),
            "arm_count": 2 if barred else rng.integers(2, 5),
            "pitch_deg": rng.uniform(*pitch),
            "arm_strength": rng.uniform(0.35, 0.6),
            "arm_winding": rng.choice([-1.0, 1.0]),
            "arm_phase": rng.uniform(0.0, 2.0 * math.pi),
        }
        if barred:
            params |= {
                "bar_frac": rng.uniform(0.25, 0.4),
                "bar_length": hlr * rng.uniform(0.7, 1.2),
                "bar_q": rng.uniform(0.15, 0.3),
                "bar_n": rng.uniform(0.5, 0.8),
                # The arms leave from the ends of the bar.
                "bar_angle": params["arm_phase"],
            }
        return params

    return sample


def _ring(rng: np.random.Generator, hlr: float) -> dict[str, float]:
    """A faint disk with a small bulge inside a star-forming ring."""
    radius = hlr * rng.uniform(1.0, 2.0)
    return _bulge(rng, hlr, (0.25, 0.4)) | {
        "q": rng.uniform(0.6, 1.0),
        "ring_frac": rng.uniform(0.3, 0.45),
        "ring_radius": radius,
        "ring_width": radius * rng.uniform(0.08, 0.15),
    }


def _merger(rng: np.random.Generator, hlr: float) -> dict[str, float]:
    """Two overlapping bulge + disk galaxies with tidal tails."""
    return _bulge(rng, hlr, (0.0, 0.5)) | {
        "q": rng.uniform(0.3, 1.0),
        "companion_sep": rng.uniform(0.5, 2.5),
        "companion_angle": rng.uniform(0.0, 2.0 * math.pi),
        "companion_flux_ratio": rng.uniform(1.0, 4.0),
        "companion_hlr": hlr * rng.uniform(0.5, 1.0),
        "companion_q": rng.uniform(0.3, 1.0),
        "companion_pa": rng.uniform(0.0, math.pi),
        "tail_count": rng.integers(1, 3),
        "tail_frac": rng.uniform(0.15, 0.3),
        "tail_length": hlr * rng.uniform(2.5, 4.5),
        "tail_bend_deg": rng.choice([-1.0, 1.0]) * rng.uniform(60.0, 150.0),
    }


SAMPLERS: dict[str, Sampler] = {
    classes.SMOOTH_ROUND: _smooth((0.8, 1.0)),
    classes.SMOOTH_IN_BETWEEN: _smooth((0.5, 0.8)),
    classes.SMOOTH_CIGAR: _smooth((0.2, 0.4)),
    classes.EDGE_ON_NO_BULGE: _edge_on(with_bulge=False),
    classes.EDGE_ON_WITH_BULGE: _edge_on(with_bulge=True),
    # Along the Hubble sequence, tighter arms come with bigger bulges.
    classes.UNBARRED_TIGHT_SPIRAL: _spiral(pitch=(8.0, 15.0), bulge=(0.1, 0.35), barred=False),
    classes.UNBARRED_LOOSE_SPIRAL: _spiral(pitch=(20.0, 35.0), bulge=(0.0, 0.15), barred=False),
    classes.BARRED_SPIRAL: _spiral(pitch=(10.0, 30.0), bulge=(0.0, 0.15), barred=True),
    classes.MERGER: _merger,
    classes.RING: _ring,
}


def morphology_label(rng: np.random.Generator, config: SurveyConfig, index: int) -> int:
    """Class of galaxy `index`: cycling through all classes, or drawn with the class weights."""
    if config.class_weights is None:
        return index % len(CLASS_NAMES)
    weights = np.array([config.class_weights.get(name, 0.0) for name in CLASS_NAMES])
    return int(rng.choice(len(CLASS_NAMES), p=weights / weights.sum()))


def sample_morphology(
    rng: np.random.Generator, config: SurveyConfig, index: int
) -> dict[str, float]:
    """Draw the class and the parameters of galaxy `index` of a morphology survey."""
    return sample_morphology_parameters(rng, config, morphology_label(rng, config, index))


def sample_morphology_parameters(
    rng: np.random.Generator, config: SurveyConfig, label: int
) -> dict[str, float]:
    """Draw every parameter of PARAMETERS and the band fluxes of one galaxy of class `label`."""
    params = dict.fromkeys(PARAMETERS, math.nan)
    mag_r = sample_magnitude(rng, *config.mag_range)
    sizes = config.preset.galaxy_sizes
    if sizes is None:
        hlr = sample_half_light_radius(rng, mag_r, HLR_AT_19, HLR_SLOPE, HLR_SCATTER, HLR_LIMITS)
    else:
        limits = (sizes["min"], sizes["max"])
        hlr = sample_half_light_radius(
            rng, mag_r, sizes["at_19"], sizes["slope"], sizes["scatter"], limits
        )
    params |= {
        "label": label,
        "mag_r": mag_r,
        "hlr": hlr,
        "position_angle": rng.uniform(0.0, math.pi),
        "dx": rng.uniform(-1.0, 1.0),
        "dy": rng.uniform(-1.0, 1.0),
    }
    colours = {"bulge": BULGE_COLOURS, "disk": DISK_COLOURS, "young": YOUNG_COLOURS}
    for population, (g_r, r_z) in colours.items():
        params[f"{population}_g_r"] = rng.normal(g_r, COLOUR_SCATTER)
        params[f"{population}_r_z"] = rng.normal(r_z, COLOUR_SCATTER)
    params |= SAMPLERS[CLASS_NAMES[label]](rng, hlr)
    if config.galaxies == "realistic":
        params |= sample_realism(rng, CLASS_NAMES[label], params)
    if config.preset.frame_r90 is not None:
        params["frame_scale"] = frame_scale(params, config)
    shown = {population for _, population in light_fractions(params).values()}
    for population in colours.keys() - shown:
        params[f"{population}_g_r"] = params[f"{population}_r_z"] = math.nan
    fluxes = np.sum(list(component_fluxes(params, config).values()), axis=0)
    params |= {f"flux_{band}": flux for band, flux in zip(config.bands, fluxes, strict=True)}
    return {name: float(value) for name, value in params.items()}
