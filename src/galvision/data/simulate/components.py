"""Spiral arms, rings and tidal tails: analytic images wrapped as unit-flux GalSim profiles."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import galsim
import numpy as np

# Sampled finer than the survey pixel, so that GalSim applies the pixel response and the PSF.
OVERSAMPLING = 3
EXTENT = 5.0  # half-light radii covered by an arm image; beyond it an exponential disk is faint
EXPONENTIAL_HLR = 1.6783  # half-light radius of an exponential profile in scale lengths
ARM_SHARPNESS = 4.0  # exponent of the azimuthal arm profile ((1 + cos) / 2)^k: larger is thinner
ARM_SCALE = 1.2  # arm envelope scale length relative to the disk's: arms reach further out
RING_EXTENT = 4.0  # Gaussian widths covered outside a ring
TAIL_POINTS_PER_WIDTH = 2.0  # blobs per initial tail width, enough for a smooth arc


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


def spiral_arms(
    hlr: float,
    arm_count: int,
    pitch_deg: float,
    winding: float,
    phase: float,
    start_radius: float,
    pixel_scale: float,
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
    """
    x, y, step = _grid(EXTENT * hlr, pixel_scale)
    radius = np.hypot(x, y)
    # Along a logarithmic spiral the azimuth grows as ln(r) / tan(pitch).
    spiral = np.log(np.maximum(radius, step) / start_radius) / math.tan(math.radians(pitch_deg))
    azimuth = arm_count * (np.arctan2(y, x) - phase - winding * spiral)
    pattern = (0.5 + 0.5 * np.cos(azimuth)) ** ARM_SHARPNESS
    scale_length = ARM_SCALE * hlr / EXPONENTIAL_HLR
    envelope = np.exp(-radius / scale_length) * -np.expm1(-((radius / start_radius) ** 4))
    return _profile(envelope * pattern, step)


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
