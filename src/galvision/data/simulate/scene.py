"""Crowded scenes: a galaxy among what real skies put around it, for models that must generalise.

A ``crowded`` survey adds, to each rendered galaxy, what a cutout of a real survey holds and an
isolated simulated galaxy lacks: galaxies magnified until they fill and overflow the stamp,
neighbours at any position, bright stars, and colours from grey to extreme, including sources
whose bands are permuted or that shine in one band only. A model trained on such scenes cannot
learn that colour follows radius, or that every source is small and centred, and so restores
structure while it leaves colour alone where the data carry no evidence for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import galsim
import numpy as np

from galvision.data.intensity import magnitude_to_flux
from galvision.data.simulate.config import SurveyConfig
from galvision.data.simulate.framing import draw_framed
from galvision.data.simulate.galaxies import band_fluxes, draw_galaxy, sample_galaxy_parameters

SCENE_STREAM = 2  # random stream of the scene, apart from the galaxy's own
ZOOM_PROBABILITY = 0.3  # share of galaxies magnified towards and past the stamp's edge
ZOOM_RANGE = (1.5, 4.0)  # magnification, log-uniform
MEAN_NEIGHBOURS = 0.8  # Poisson mean of further galaxies anywhere in the stamp
MAX_NEIGHBOURS = 3
MEAN_STARS = 0.3  # Poisson mean of stars
STAR_MAGS = (14.0, 21.0)  # r-band AB: from saturating to faint
STAR_COLOURS = {"g_r": (-0.2, 1.6), "r_z": (-0.2, 1.2)}  # uniform ranges, main sequence to M stars
STAR_FWHM = 0.02  # arcsec, far below a pixel: a point source
EXTREME_COLOUR = 1.5  # magnitudes: each band scaled by up to 10^(0.4 x this) either way
# How each source's bands are mixed, and how often: as simulated, all bands alike (grey), the
# bands in random order, one band only, or each band scaled at random.
COLOUR_MODES = {"natural": 0.5, "grey": 0.2, "permuted": 0.15, "single": 0.1, "extreme": 0.05}
SCENE_PARAMETERS = {
    "scene_zoom": "magnification of the main galaxy (1: as sampled)",
    "scene_colour": "index in COLOUR_MODES of how the main galaxy's bands were mixed",
    "scene_neighbours": "number of further galaxies in the stamp",
    "scene_stars": "number of stars in the stamp",
}


def scene_rng(config: SurveyConfig, index: int) -> np.random.Generator:
    """The generator of the scene around galaxy `index`, apart from the galaxy's own draws."""
    return np.random.default_rng([config.seed, SCENE_STREAM, index])


def colour_mixing(rng: np.random.Generator, n_bands: int) -> tuple[int, np.ndarray]:
    """A colour mode (index in COLOUR_MODES) and its (bands, bands) matrix mixing the bands."""
    mode = int(rng.choice(len(COLOUR_MODES), p=list(COLOUR_MODES.values())))
    name = list(COLOUR_MODES)[mode]
    if name == "grey":
        return mode, np.full((n_bands, n_bands), 1.0 / n_bands)
    if name == "permuted":
        return mode, np.eye(n_bands)[rng.permutation(n_bands)]
    if name == "single":
        kept = np.zeros((n_bands, n_bands))
        band = rng.integers(n_bands)
        kept[band, band] = 1.0
        return mode, kept
    if name == "extreme":
        shifts = rng.uniform(-EXTREME_COLOUR, EXTREME_COLOUR, n_bands)
        return mode, np.diag(10.0 ** (-0.4 * shifts))
    return mode, np.eye(n_bands)


def mix_bands(image: np.ndarray, mixing: np.ndarray) -> np.ndarray:
    """Apply a (bands, bands) mixing matrix to a (bands, H, W) image."""
    return np.einsum("ij,jhw->ihw", mixing, image).astype(np.float32)


def _stamp_offset(rng: np.random.Generator, config: SurveyConfig) -> tuple[float, float]:
    """Pixels from the stamp centre of a source placed anywhere in the stamp."""
    half = config.stamp_size / 2
    return tuple(rng.uniform(-half, half, 2))


def draw_neighbour(rng: np.random.Generator, config: SurveyConfig) -> np.ndarray:
    """A bulge + disk galaxy anywhere in the stamp, its colours mixed by a random mode."""
    params = sample_galaxy_parameters(rng, config)
    params["dx"], params["dy"] = _stamp_offset(rng, config)
    _, mixing = colour_mixing(rng, len(config.bands))
    return mix_bands(draw_galaxy(params, config), mixing)


def draw_star(rng: np.random.Generator, config: SurveyConfig) -> np.ndarray:
    """A point source anywhere in the stamp with a stellar colour."""
    colours = {name: rng.uniform(*limits) for name, limits in STAR_COLOURS.items()}
    flux_r = float(magnitude_to_flux(rng.uniform(*STAR_MAGS)))
    offset = _stamp_offset(rng, config)
    point = galsim.Gaussian(fwhm=STAR_FWHM).drawImage(
        nx=config.stamp_size, ny=config.stamp_size, scale=config.pixel_scale, offset=offset
    )
    fluxes = band_fluxes(flux_r, colours["g_r"], colours["r_z"], config.bands)
    return (np.asarray(fluxes)[:, None, None] * point.array[None]).astype(np.float32)


def crowd(
    draw: Callable[[SurveyConfig], np.ndarray],
    params: dict[str, float],
    config: SurveyConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, dict[str, float]]:
    """Render a galaxy with ``draw(config)`` inside a crowded scene; image and updated params.

    The galaxy may be magnified (drawn at a finer pixel scale at the same surface brightness, so
    its flux grows with the square of the zoom) and its bands mixed; its ``mag_r`` follows the
    zoom, its ``flux_<band>`` the zoom and the mixing; the scene's draws join as SCENE_PARAMETERS.
    """
    zoom = 1.0
    if rng.uniform() < ZOOM_PROBABILITY:
        zoom = float(math.exp(rng.uniform(*np.log(ZOOM_RANGE))))
    image = draw_framed(draw, config, config.pixel_scale / zoom)
    brightening = zoom**2  # same surface brightness over zoom² times the area
    mode, mixing = colour_mixing(rng, len(config.bands))
    image = mix_bands(image, mixing)
    fluxes = mixing @ (brightening * np.array([params[f"flux_{b}"] for b in config.bands]))
    params = params | {f"flux_{b}": float(f) for b, f in zip(config.bands, fluxes, strict=True)}
    params["mag_r"] -= 5.0 * math.log10(zoom)
    neighbours = min(int(rng.poisson(MEAN_NEIGHBOURS)), MAX_NEIGHBOURS)
    stars = int(rng.poisson(MEAN_STARS))
    for _ in range(neighbours):
        image += draw_neighbour(rng, config)
    for _ in range(stars):
        image += draw_star(rng, config)
    scene = {"scene_zoom": zoom, "scene_colour": mode, "scene_neighbours": neighbours}
    return image, params | scene | {"scene_stars": stars}
