"""Spiral arms, rings and tidal tails: analytic images wrapped as unit-flux GalSim profiles."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import galsim
import numpy as np
from scipy.ndimage import gaussian_filter

# Sampled finer than the survey pixel, so that GalSim applies the pixel response and the PSF.
OVERSAMPLING = 3
EXTENT = 5.0  # half-light radii covered by an arm image; beyond it an exponential disk is faint
EXPONENTIAL_HLR = 1.6783  # half-light radius of an exponential profile in scale lengths
ARM_SHARPNESS = 4.0  # exponent of the azimuthal arm profile ((1 + cos) / 2)^k: larger is thinner
ARM_SCALE = 1.2  # arm envelope scale length relative to the disk's: arms reach further out
RING_EXTENT = 4.0  # Gaussian widths covered outside a ring
TAIL_POINTS_PER_WIDTH = 2.0  # blobs per initial tail width, enough for a smooth arc
FLOCCULENT_SCALE = 0.2  # disk half-light radii over which flocculent arms vary
ARM_KNOT_SCATTER = 0.12  # radians of azimuth by which knots stray from their arm's ridge


@dataclass(frozen=True)
class TailPath:
    """A tidal tail: a circular arc from (x, y) in arcsec, leaving at `heading` radians."""

    x: float
    y: float
    heading: float
    length: float  # arcsec along the arc
    bend: float  # radians turned between the start and the tip
    width: float  # arcsec, Gaussian sigma at the start; the tip is twice as wide


def _grid(half_width: float, pixel_scale: float) -> tuple[np.ndarray, np.ndarray, float]:
    """x (1, n) and y (n, 1) in arcsec of an odd oversampled grid centred on 0, and its step."""
    step = pixel_scale / OVERSAMPLING
    half = math.ceil(half_width / step)
    axis = np.arange(-half, half + 1) * step
    return axis[None, :], axis[:, None], step


def _profile(array: np.ndarray, step: float) -> galsim.InterpolatedImage:
    """A unit-flux GalSim profile of a non-negative image sampled every `step` arcsec."""
    return galsim.InterpolatedImage(galsim.Image(np.ascontiguousarray(array), scale=step), flux=1.0)


@dataclass(frozen=True)
class Spiral:
    """Logarithmic-spiral arms in a disk's plane; lengths in arcsec, angles in radians."""

    hlr: float  # of the disk
    arm_count: int
    pitch_deg: float
    winding: float  # +1 or -1
    phase: float  # azimuth where the first arm leaves start_radius
    start_radius: float

    def azimuth(self, radius: np.ndarray) -> np.ndarray:
        """Azimuth of the first arm at ``radius``: it grows as ln(r) / tan(pitch)."""
        winding = np.log(radius / self.start_radius) / math.tan(math.radians(self.pitch_deg))
        return self.phase + self.winding * winding


def _texture(shape: tuple[int, ...], correlation: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth Gaussian random field of unit variance, correlated over ``correlation`` cells."""
    field = gaussian_filter(rng.normal(size=shape), correlation)
    return field / field.std()


def spiral_arms(
    hlr: float,
    arm_count: int,
    pitch_deg: float,
    winding: float,
    phase: float,
    start_radius: float,
    pixel_scale: float,
    flocculence: float = 0.0,
    seed: int = 0,
) -> galsim.InterpolatedImage:
    """Face-on logarithmic-spiral arms of an exponential disk, fading inside `start_radius`.

    Args:
        hlr: Half-light radius of the disk in arcsec.
        arm_count: Number of arms.
        pitch_deg: Angle between an arm and the circle through it, degrees.
        winding: +1 or -1, the sense in which the arms wind outwards.
        phase: Azimuth in radians where the first arm leaves `start_radius`.
        start_radius: Radius in arcsec where the arms begin, e.g. the end of a bar.
        pixel_scale: Survey pixel in arcsec; the image is sampled finer.
        flocculence: Relative amplitude of random variations of the arms' brightness and
            width, correlated over a fifth of the disk's half-light radius (0: smooth arms).
        seed: Seed of those variations.
    """
    x, y, step = _grid(EXTENT * hlr, pixel_scale)
    radius = np.hypot(x, y)
    spiral = Spiral(hlr, arm_count, pitch_deg, winding, phase, start_radius)
    azimuth = arm_count * (np.arctan2(y, x) - spiral.azimuth(np.maximum(radius, step)))
    sharpness = np.full(radius.shape, ARM_SHARPNESS)
    brightness = np.ones(radius.shape)
    if flocculence > 0:
        rng = np.random.default_rng(seed)
        cells = FLOCCULENT_SCALE * hlr / step
        sharpness = sharpness * np.exp(0.5 * flocculence * _texture(radius.shape, cells, rng))
        brightness = np.clip(1.0 + flocculence * _texture(radius.shape, cells, rng), 0.0, None)
    pattern = brightness * (0.5 + 0.5 * np.cos(azimuth)) ** sharpness
    scale_length = ARM_SCALE * hlr / EXPONENTIAL_HLR
    envelope = np.exp(-radius / scale_length) * -np.expm1(-((radius / start_radius) ** 4))
    return _profile(envelope * pattern, step)


def disk_knots(hlr: float, count: int, size: float, seed: int) -> galsim.GSObject:
    """Unit-flux star-forming knots scattered like an exponential disk's light (face-on)."""
    knots = galsim.RandomKnots(
        count, profile=galsim.Exponential(half_light_radius=hlr), rng=galsim.BaseDeviate(seed)
    )
    return galsim.Convolve(knots, galsim.Gaussian(sigma=size))


def arm_knots(spiral: Spiral, count: int, size: float, seed: int) -> galsim.GSObject:
    """Unit-flux knots strung along spiral arms, of log-normal brightness (face-on)."""
    rng = np.random.default_rng(seed)
    scale_length = ARM_SCALE * spiral.hlr / EXPONENTIAL_HLR
    radius = spiral.start_radius + rng.exponential(scale_length, count)
    arm = rng.integers(spiral.arm_count, size=count)
    azimuth = (
        spiral.azimuth(radius)
        + 2 * math.pi * arm / spiral.arm_count
        + rng.normal(0.0, ARM_KNOT_SCATTER, count)
    )
    weights = rng.lognormal(0.0, 0.5, count)
    weights /= weights.sum()
    blobs = [
        galsim.Gaussian(sigma=size, flux=w).shift(r * math.cos(a), r * math.sin(a))
        for r, a, w in zip(radius, azimuth, weights, strict=True)
    ]
    return galsim.Sum(blobs)


def ring(radius: float, width: float, pixel_scale: float) -> galsim.InterpolatedImage:
    """A face-on Gaussian annulus of the given radius and sigma in arcsec."""
    x, y, step = _grid(radius + RING_EXTENT * width, pixel_scale)
    return _profile(np.exp(-0.5 * ((np.hypot(x, y) - radius) / width) ** 2), step)


def tidal_tails(paths: Sequence[TailPath], pixel_scale: float) -> galsim.InterpolatedImage:
    """Curved, widening, fading low-surface-brightness arcs, one per path."""
    half_width = max(math.hypot(p.x, p.y) + p.length + 3.0 * p.width for p in paths)
    x, y, step = _grid(half_width, pixel_scale)
    image = np.zeros((y.size, x.size))
    for path in paths:
        count = max(8, math.ceil(TAIL_POINTS_PER_WIDTH * path.length / path.width))
        along = np.linspace(0.0, 1.0, count)
        # Points along the arc, as complex x + iy, stepping at the heading of each step's middle.
        heading = path.heading + path.bend * (along[1:] + along[:-1]) / 2
        steps = np.exp(1j * heading) * path.length / (count - 1)
        points = complex(path.x, path.y) + np.concatenate([[0.0], np.cumsum(steps)])
        widths = path.width * (1.0 + along)
        # Faint where it leaves the galaxy's light, brightest a third along, gone at the tip.
        brightness = np.sin(np.pi * along**0.7) / widths
        for point, width, weight in zip(points, widths, brightness, strict=True):
            image += weight * np.exp(
                -0.5 * ((x - point.real) ** 2 + (y - point.imag) ** 2) / width**2
            )
    return _profile(image, step)
