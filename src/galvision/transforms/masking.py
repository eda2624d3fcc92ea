"""Masks of missing pixels, made on the device: random patches and pixels, survey artefacts.

A mask is a float tensor (B, 1, H, W) with 1 where a pixel is missing. Artefacts imitate what
ground-based images lose: satellite trails, bad CCD columns and saturated stars with their bleed
trails. Every mask leaves at least one pixel of its image visible.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from galvision.errors import ConfigError, DataError
from galvision.transforms.base import sample_generator

ARTEFACTS = ("trails", "columns", "saturation")
KINDS = ("patches", "pixels", *ARTEFACTS)
# Artefacts are added one at a time until the target is reached; this bounds the work per batch.
MAX_ARTEFACTS = 400


class MaskGenerator:
    """Random masks covering a target fraction of each image, of a kind picked per image.

    Args:
        kinds: relative weight of each kind (``patches``, ``pixels``, ``trails``, ``columns``,
            ``saturation``); default ``{"patches": 1.0}``.
        fraction: covered fraction, or a (low, high) range drawn uniformly per image. Patches
            and pixels cover it exactly (rounded); artefacts add elements until it is reached.
        patch_size: side of the grid-aligned square patches in pixels.
        seed: base seed of the masks made per dataset index (:meth:`for_indices`).
    """

    def __init__(
        self,
        kinds: dict[str, float] | None = None,
        fraction: float | tuple[float, float] = 0.5,
        patch_size: int = 8,
        seed: int = 1,
    ) -> None:
        kinds = dict(kinds or {"patches": 1.0})
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown:
            raise ConfigError(f"masks: unknown kind {unknown[0]!r}; choose from {', '.join(KINDS)}")
        negative = {k: w for k, w in kinds.items() if w < 0}
        if negative:
            name, weight = next(iter(negative.items()))
            raise ConfigError(f"masks: kind {name!r} has a negative weight {weight}")
        if sum(kinds.values()) <= 0:
            raise ConfigError(f"masks: the kind weights {kinds} add up to zero")
        low, high = (fraction, fraction) if isinstance(fraction, int | float) else fraction
        for value in (low, high):
            if not 0 <= value < 1:
                raise ConfigError(f"masks: fraction {value} is outside [0, 1)")
        if low > high:
            raise ConfigError(f"masks: fraction range ({low}, {high}) is reversed")
        if patch_size < 1:
            raise ConfigError(f"masks: patch_size={patch_size} must be at least 1")
        self.kinds = kinds
        self.fraction = (float(low), float(high))
        self.patch_size = patch_size
        self.seed = seed

    def __call__(
        self,
        batch_size: int,
        height: int,
        width: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """Masks (batch_size, 1, height, width), 1 = masked; random numbers from ``generator``."""
        draw = _Draw(generator, device)
        names = list(self.kinds)
        weights = torch.tensor(
            [self.kinds[n] for n in names], dtype=torch.float64, device=draw.source
        )
        choice = torch.multinomial(weights, batch_size, replacement=True, generator=generator)
        low, high = self.fraction
        target = low + (high - low) * draw.uniform(batch_size)
        mask = torch.zeros(batch_size, 1, height, width, device=draw.device)
        for k, name in enumerate(names):
            rows = (choice == k).nonzero().flatten().tolist()
            if rows:
                mask[rows] = self._make(name, target[rows], height, width, draw)
        return mask

    def for_indices(
        self, indices: torch.Tensor, height: int, width: int, device: torch.device | str | None
    ) -> torch.Tensor:
        """Masks fixed by each image's dataset index, whatever the batch and device."""
        return torch.cat(
            [self(1, height, width, sample_generator(self.seed, i)) for i in indices.tolist()]
        ).to(device)

    def _make(
        self, name: str, target: torch.Tensor, height: int, width: int, draw: _Draw
    ) -> torch.Tensor:
        if name == "patches":
            p = self.patch_size
            if height % p or width % p:
                raise DataError(f"masks: {height}×{width} images do not split into {p}×{p} patches")
            grid = _exact(target, height // p, width // p, draw)
            return grid.repeat_interleave(p, dim=-2).repeat_interleave(p, dim=-1)
        if name == "pixels":
            return _exact(target, height, width, draw)
        return _artefacts(ARTEFACT_SHAPES[name], target, height, width, draw)


class _Draw:
    """Random numbers from an optional generator, delivered on the requested device."""

    def __init__(self, generator: torch.Generator | None, device: torch.device | str | None):
        self.generator = generator
        self.source = generator.device if generator is not None else torch.device(device or "cpu")
        self.device = torch.device(device) if device is not None else self.source

    def uniform(self, *shape: int) -> torch.Tensor:
        """Uniform numbers in [0, 1) of ``shape`` on the device."""
        values = torch.rand(shape, generator=self.generator, device=self.source)
        return values.to(self.device)


def _exact(target: torch.Tensor, rows: int, columns: int, draw: _Draw) -> torch.Tensor:
    """(B, 1, rows, columns) masks of exactly round(target × cells) cells, one cell left visible."""
    cells = rows * columns
    count = (target * cells).round().clamp(max=cells - 1)
    rank = draw.uniform(len(target), cells).argsort(dim=1).argsort(dim=1)
    return (rank < count[:, None]).float().view(-1, 1, rows, columns)


Shape = Callable[[int, torch.Tensor, torch.Tensor, _Draw], torch.Tensor]


def _artefacts(
    shape: Shape, target: torch.Tensor, height: int, width: int, draw: _Draw
) -> torch.Tensor:
    """Add artefacts of one ``shape`` to each image until it covers its ``target`` fraction."""
    yy, xx = torch.meshgrid(
        torch.arange(height, device=draw.device, dtype=torch.float32),
        torch.arange(width, device=draw.device, dtype=torch.float32),
        indexing="ij",
    )
    mask = torch.zeros(len(target), 1, height, width, dtype=torch.bool, device=draw.device)
    for _ in range(MAX_ARTEFACTS):
        covered = mask.float().mean(dim=(1, 2, 3))
        wanting = covered < target
        if not wanting.any():
            break
        grown = mask | shape(len(target), yy, xx, draw)[:, None]
        # An artefact that would hide the whole image is left out.
        keep = wanting & ~grown.flatten(1).all(dim=1)
        mask = torch.where(keep[:, None, None, None], grown, mask)
    return mask.float()


def _trail(n: int, yy: torch.Tensor, xx: torch.Tensor, draw: _Draw) -> torch.Tensor:
    """Straight stripes 1-3 px wide crossing the image at a random angle and offset."""
    angle, offset, width = draw.uniform(3, n)[:, :, None, None]
    cos, sin = torch.cos(angle * math.pi), torch.sin(angle * math.pi)
    height, breadth = yy.shape
    # Offsets span the image's extent along the stripe's normal, so every stripe meets it.
    offset = (offset - 0.5) * (breadth * cos.abs() + height * sin.abs())
    distance = ((xx - (breadth - 1) / 2) * cos + (yy - (height - 1) / 2) * sin - offset).abs()
    return distance < (1 + (3 * width).floor()) / 2


def _column(n: int, yy: torch.Tensor, xx: torch.Tensor, draw: _Draw) -> torch.Tensor:
    """Bad columns: full-height vertical stripes 1-2 px wide."""
    start, width = draw.uniform(2, n)[:, :, None, None]
    start = (start * xx.shape[1]).floor()
    width = 1 + (2 * width).floor()
    return ((xx - start) >= 0) & ((xx - start) < width)


def _saturation(n: int, yy: torch.Tensor, xx: torch.Tensor, draw: _Draw) -> torch.Tensor:
    """Saturated stars: discs of random radius with a vertical bleed trail through the centre."""
    y0, x0, radius, bleed = draw.uniform(4, n)[:, :, None, None]
    size = min(yy.shape)
    y0, x0 = y0 * yy.shape[0], x0 * xx.shape[1]
    radius = 1.5 + radius * max(size / 10 - 1.5, 0.5)
    disc = (yy - y0) ** 2 + (xx - x0) ** 2 <= radius**2
    # Charge spills along the readout columns, a few radii up and down.
    trail = ((xx - x0).abs() < (radius / 3).clamp(min=0.5)) & (
        (yy - y0).abs() < radius * (1.5 + 3 * bleed)
    )
    return disc | trail


ARTEFACT_SHAPES: dict[str, Shape] = {
    "trails": _trail,
    "columns": _column,
    "saturation": _saturation,
}
