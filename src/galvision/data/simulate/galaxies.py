"""Bulge + disk galaxies with colour gradients, rendered noise-free and PSF-free with GalSim."""

from __future__ import annotations

import math

import galsim
import numpy as np

from galvision.data.intensity import magnitude_to_flux
from galvision.data.simulate.config import SurveyConfig

COUNT_SLOPE = 0.3  # dN/dm ~ 10^(0.3 m): faint galaxies dominate, as in deep number counts
DISK_HLR_AT_19 = 0.9  # arcsec, median disk half-light radius at r = 19
DISK_HLR_SLOPE = -0.15  # dex per magnitude: brighter galaxies are larger
DISK_HLR_SCATTER = 0.25  # dex
DISK_HLR_LIMITS = (0.25, 4.0)  # arcsec
DISK_THICKNESS = 0.15  # axis ratio of an edge-on disk
BULGE_TRUNCATION = 8.0  # half-light radii; a finite bulge keeps GalSim on fast real-space drawing
# Mean (g-r, r-z) colours and their scatter: bulges are redder than disks.
BULGE_COLOURS = (0.8, 0.5)
DISK_COLOURS = (0.4, 0.3)
COLOUR_SCATTER = 0.1


def _colour_offsets(g_r: float, r_z: float) -> dict[str, float]:
    """Magnitude of each band minus the r-band magnitude, extrapolated from g-r and r-z."""
    return {
        "u": 2.5 * g_r,
        "g": g_r,
        "r": 0.0,
        "i": -0.6 * r_z,
        "z": -r_z,
        "y": -1.3 * r_z,
    }


def band_fluxes(flux_r: float, g_r: float, r_z: float, bands: tuple[str, ...]) -> list[float]:
    """Flux in each band of a component with r-band flux `flux_r` and the given colours."""
    offsets = _colour_offsets(g_r, r_z)
    return [flux_r * 10.0 ** (-0.4 * offsets[band]) for band in bands]


def sample_magnitude(rng: np.random.Generator, low: float, high: float) -> float:
    """Draw from dN/dm ~ 10^(slope m) truncated to [low, high] by inverting its CDF."""
    lo, hi = 10.0 ** (COUNT_SLOPE * low), 10.0 ** (COUNT_SLOPE * high)
    return math.log10(lo + rng.uniform() * (hi - lo)) / COUNT_SLOPE


def sample_half_light_radius(
    rng: np.random.Generator,
    mag_r: float,
    at_19: float = DISK_HLR_AT_19,
    slope: float = DISK_HLR_SLOPE,
    scatter: float = DISK_HLR_SCATTER,
    limits: tuple[float, float] = DISK_HLR_LIMITS,
) -> float:
    """Draw a half-light radius in arcsec from a log-normal size-magnitude relation."""
    log_hlr = math.log10(at_19) + slope * (mag_r - 19.0)
    return float(np.clip(10.0 ** rng.normal(log_hlr, scatter), *limits))


def sample_galaxy_parameters(rng: np.random.Generator, config: SurveyConfig) -> dict[str, float]:
    """Draw the structural, photometric and position parameters of one galaxy."""
    mag_r = sample_magnitude(rng, *config.mag_range)
    disk_hlr = sample_half_light_radius(rng, mag_r)
    cos_i = rng.uniform()
    params = {
        "mag_r": mag_r,
        # Mean 0.25: mostly disk-dominated, with a tail of bulge-dominated galaxies.
        "bulge_frac": float(rng.beta(0.8, 2.4)),
        "disk_hlr": disk_hlr,
        "bulge_hlr": disk_hlr * rng.uniform(0.3, 0.6),
        "bulge_n": rng.uniform(2.5, 5.0),
        "disk_q": math.sqrt(cos_i**2 * (1.0 - DISK_THICKNESS**2) + DISK_THICKNESS**2),
        "bulge_q": rng.uniform(0.6, 1.0),
        "position_angle": rng.uniform(0.0, math.pi),
        "dx": rng.uniform(-1.0, 1.0),
        "dy": rng.uniform(-1.0, 1.0),
        "bulge_g_r": rng.normal(BULGE_COLOURS[0], COLOUR_SCATTER),
        "bulge_r_z": rng.normal(BULGE_COLOURS[1], COLOUR_SCATTER),
        "disk_g_r": rng.normal(DISK_COLOURS[0], COLOUR_SCATTER),
        "disk_r_z": rng.normal(DISK_COLOURS[1], COLOUR_SCATTER),
    }
    bulge, disk = component_fluxes(params, config)
    for band, bulge_flux, disk_flux in zip(config.bands, bulge, disk, strict=True):
        params[f"flux_{band}"] = bulge_flux + disk_flux
    return {name: float(value) for name, value in params.items()}


def component_fluxes(
    params: dict[str, float], config: SurveyConfig
) -> tuple[list[float], list[float]]:
    """Bulge and disk fluxes in nanomaggies, one per band of the config."""
    total_r = float(magnitude_to_flux(params["mag_r"]))
    bulge_r = params["bulge_frac"] * total_r
    disk_r = total_r - bulge_r
    bulge = band_fluxes(bulge_r, params["bulge_g_r"], params["bulge_r_z"], config.bands)
    disk = band_fluxes(disk_r, params["disk_g_r"], params["disk_r_z"], config.bands)
    return bulge, disk


def draw_unit(
    profile: galsim.GSObject, params: dict[str, float], config: SurveyConfig
) -> np.ndarray:
    """Render a unit-flux profile through the pixel response at the galaxy's offset."""
    image = profile.drawImage(
        nx=config.stamp_size,
        ny=config.stamp_size,
        scale=config.pixel_scale,
        offset=(params["dx"], params["dy"]),
    )
    return image.array.astype(np.float64)


def draw_galaxy(params: dict[str, float], config: SurveyConfig) -> np.ndarray:
    """Render one galaxy as (bands, stamp, stamp) float32 nanomaggies per pixel, without PSF."""
    angle = params["position_angle"] * galsim.radians
    disk = galsim.Exponential(half_light_radius=params["disk_hlr"]).shear(
        q=params["disk_q"], beta=angle
    )
    bulge = galsim.Sersic(
        n=params["bulge_n"],
        half_light_radius=params["bulge_hlr"],
        trunc=BULGE_TRUNCATION * params["bulge_hlr"],
    ).shear(q=params["bulge_q"], beta=angle)
    # Drawing is linear in flux: render each component once and mix them per band.
    disk_image = draw_unit(disk, params, config)
    bulge_image = draw_unit(bulge, params, config)
    bulge_fluxes, disk_fluxes = component_fluxes(params, config)
    bands = [
        b * bulge_image + d * disk_image for b, d in zip(bulge_fluxes, disk_fluxes, strict=True)
    ]
    return np.stack(bands).astype(np.float32)
