"""Galaxy Zoo-style schematic symbols: one pictogram per galaxy, drawn from its parameters.

Galaxy Zoo volunteers classify by matching a galaxy to small line drawings: a circle or an
ellipse for a smooth galaxy, a flat line for an edge-on disk, a bulge with winding arms for a
spiral, a bar, a ring, two blobs with tails for a merger. These symbols are such drawings, made
from the same parameters that render the galaxy (axis ratio, position angle, arm count, pitch
and winding, bar, ring, companion), with random rotation, scale, line width and stroke jitter so
that no single bitmap can be memorised. They are the third modality of
:class:`~galvision.tasks.AlignmentTask`. Drawn with Pillow at four times the size, then reduced,
so strokes are antialiased.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from galvision.data.simulate import classes
from galvision.data.simulate.classes import CLASS_NAMES
from galvision.errors import ConfigError
from galvision.plotting import save_image_grid

SUPERSAMPLING = 4
LENS = "lens"  # a lensed arc around a deflector, beside the morphology classes
SYMBOL_NAMES = (*CLASS_NAMES, LENS)
SCALE_RANGE = (0.8, 1.05)  # symbol radius over the stamp's half-width
WIDTH_RANGE = (1.0, 2.5)  # stroke width in output pixels
JITTER = 0.006  # stroke jitter, fraction of the stamp's width


@dataclass(frozen=True)
class SymbolFeatures:
    """What a symbol shows, in the drawing's own terms (lengths in units of its radius)."""

    kind: str  # smooth, edge_on, spiral, ring, merger or lens
    axis_ratio: float = 1.0
    angle: float = 0.0  # radians of the major axis from +x
    bulge: float = 0.0  # radius of the central bulge dot, 0 for none
    arms: int = 0
    pitch_deg: float = 20.0
    winding: float = 1.0
    bar: float = 0.0  # half-length of the bar, 0 for none
    ring: float = 0.0  # radius of the ring, 0 for none
    tails: int = 0


def _finite(value: float, default: float) -> float:
    return default if value is None or not math.isfinite(value) else float(value)


def features_from_parameters(params: dict[str, float]) -> SymbolFeatures:
    """The symbol of a simulated morphology galaxy, from its stored parameters."""
    name = CLASS_NAMES[int(params["label"])]
    angle = _finite(params.get("position_angle"), 0.0)
    q = _finite(params.get("q"), 1.0)
    bulge = 0.25 * math.sqrt(_finite(params.get("bulge_frac"), 0.0))
    if name in (classes.SMOOTH_ROUND, classes.SMOOTH_IN_BETWEEN, classes.SMOOTH_CIGAR):
        return SymbolFeatures("smooth", axis_ratio=q, angle=angle, bulge=0.12)
    if name in (classes.EDGE_ON_NO_BULGE, classes.EDGE_ON_WITH_BULGE):
        bulge = 0.22 if name == classes.EDGE_ON_WITH_BULGE else 0.0
        return SymbolFeatures("edge_on", axis_ratio=min(q, 0.15), angle=angle, bulge=bulge)
    if name == classes.RING:
        return SymbolFeatures("ring", axis_ratio=q, angle=angle, bulge=max(bulge, 0.1), ring=0.8)
    if name == classes.MERGER:
        tails = int(_finite(params.get("tail_count"), 1))
        return SymbolFeatures(
            "merger", angle=_finite(params.get("companion_angle"), 0), tails=tails
        )
    bar = 0.45 if _finite(params.get("bar_frac"), 0.0) > 0 else 0.0
    return SymbolFeatures(
        "spiral",
        axis_ratio=q,
        angle=angle,
        bulge=max(bulge, 0.08),
        arms=int(_finite(params.get("arm_count"), 2)),
        pitch_deg=_finite(params.get("pitch_deg"), 20.0),
        winding=_finite(params.get("arm_winding"), 1.0),
        bar=bar,
    )


def class_features(name: str, rng: np.random.Generator) -> SymbolFeatures:
    """A typical symbol of a class (or ``lens``), its free parameters drawn at random."""
    if name not in SYMBOL_NAMES:
        raise ConfigError(f"symbols: unknown class {name!r}; known: {list(SYMBOL_NAMES)}")
    angle = rng.uniform(0, math.pi)
    if name == LENS:
        return SymbolFeatures("lens", angle=angle, bulge=0.15)
    ranges = {
        classes.SMOOTH_ROUND: {"q": (0.85, 1.0)},
        classes.SMOOTH_IN_BETWEEN: {"q": (0.5, 0.75)},
        classes.SMOOTH_CIGAR: {"q": (0.2, 0.4)},
        classes.EDGE_ON_NO_BULGE: {"q": (0.1, 0.15)},
        classes.EDGE_ON_WITH_BULGE: {"q": (0.1, 0.15), "bulge_frac": (0.3, 0.4)},
        classes.UNBARRED_TIGHT_SPIRAL: {"pitch_deg": (8, 15), "bulge_frac": (0.2, 0.3)},
        classes.UNBARRED_LOOSE_SPIRAL: {"pitch_deg": (22, 35), "bulge_frac": (0.05, 0.1)},
        classes.BARRED_SPIRAL: {
            "pitch_deg": (12, 30),
            "bulge_frac": (0.05, 0.1),
            "bar_frac": (1, 1),
        },
        classes.MERGER: {"tail_count": (1, 2)},
        classes.RING: {"q": (0.7, 1.0), "bulge_frac": (0.25, 0.35)},
    }[name]
    params = {
        "label": CLASS_NAMES.index(name),
        "position_angle": angle,
        "companion_angle": angle,
        "q": rng.uniform(0.6, 1.0),
        "arm_count": 2 if name == classes.BARRED_SPIRAL else int(rng.integers(2, 4)),
        "arm_winding": float(rng.choice([-1.0, 1.0])),
    }
    for key, (low, high) in ranges.items():
        params[key] = (
            round(rng.uniform(low, high)) if key == "tail_count" else rng.uniform(low, high)
        )
    return features_from_parameters(params)


class _Pen:
    """Draws jittered polylines and dots at random width, rotation and scale on one canvas."""

    def __init__(self, size: int, rng: np.random.Generator) -> None:
        self.size, self.rng = size, rng
        self.big = size * SUPERSAMPLING
        self.canvas = Image.new("L", (self.big, self.big), 0)
        self.draw = ImageDraw.Draw(self.canvas)
        self.radius = 0.5 * self.big * rng.uniform(*SCALE_RANGE) * 0.85
        self.width = max(1, round(rng.uniform(*WIDTH_RANGE) * SUPERSAMPLING))
        self.turn = rng.uniform(0, 2 * math.pi)

    def _to_canvas(self, xy: np.ndarray) -> list[tuple[float, float]]:
        cos, sin = math.cos(self.turn), math.sin(self.turn)
        x, y = xy[:, 0] * cos - xy[:, 1] * sin, xy[:, 0] * sin + xy[:, 1] * cos
        jitter = self.rng.normal(0, JITTER * self.big, (2, len(xy)))
        centre = self.big / 2
        columns = centre + self.radius * x + jitter[0], centre - self.radius * y + jitter[1]
        return list(zip(*columns, strict=True))

    def line(self, xy: np.ndarray, closed: bool = False) -> None:
        """A polyline through (n, 2) points in units of the symbol's radius."""
        points = self._to_canvas(xy)
        if closed:
            points.append(points[0])
        self.draw.line(points, fill=255, width=self.width, joint="curve")

    def dot(self, centre: tuple[float, float], radius: float) -> None:
        """A filled disc, radius in units of the symbol's radius."""
        (x, y), r = self._to_canvas(np.array([centre]))[0], radius * self.radius
        self.draw.ellipse((x - r, y - r, x + r, y + r), fill=255)

    def image(self) -> np.ndarray:
        small = self.canvas.resize((self.size, self.size), Image.Resampling.BOX)
        return np.asarray(small, dtype=np.float32) / 255.0


def _ellipse(axis_ratio: float, angle: float, radius: float = 1.0, n: int = 64) -> np.ndarray:
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    return _rotate(np.stack([radius * np.cos(t), radius * axis_ratio * np.sin(t)], 1), angle)


def _rotate(xy: np.ndarray, angle: float) -> np.ndarray:
    cos, sin = math.cos(angle), math.sin(angle)
    return xy @ np.array([[cos, sin], [-sin, cos]])


def _arm(start: float, phase: float, pitch_deg: float, winding: float) -> np.ndarray:
    """A logarithmic spiral from radius ``start`` out to 1, starting at angle ``phase``."""
    growth = math.tan(math.radians(pitch_deg))
    theta = np.linspace(0, math.log(1 / start) / growth, 80)
    r = start * np.exp(growth * theta)
    angle = phase + winding * theta
    return np.stack([r * np.cos(angle), r * np.sin(angle)], 1)


def draw_symbol(features: SymbolFeatures, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """The symbol as a (size, size) float32 image in [0, 1]: white strokes on black."""
    pen = _Pen(size, rng)
    kind = features.kind
    if kind in ("smooth", "edge_on"):
        pen.line(_ellipse(max(features.axis_ratio, 0.06), features.angle), closed=True)
    if kind == "ring":  # a bright ring around a fainter inner disk
        pen.line(_ellipse(features.axis_ratio, features.angle, features.ring), closed=True)
        pen.line(_ellipse(features.axis_ratio, features.angle, 0.4 * features.ring), closed=True)
    if kind == "spiral":
        start = max(features.bar, features.bulge * 1.5, 0.12)
        for arm in range(features.arms):
            phase = 2 * math.pi * arm / features.arms
            spiral = _arm(start, phase, features.pitch_deg, features.winding)
            spiral[:, 1] *= max(features.axis_ratio, 0.4)
            pen.line(_rotate(spiral, features.angle))
        if features.bar:
            bar = np.array([[-features.bar, 0.0], [features.bar, 0.0]])
            pen.line(_rotate(bar, features.angle))
    if kind == "merger":
        centres = _rotate(np.array([[-0.35, 0.0], [0.35, 0.1]]), features.angle)
        for index, centre in enumerate(centres):
            pen.line(_ellipse(1.0, 0.0, 0.28 if index == 0 else 0.2) + centre, closed=True)
        for tail in range(features.tails):
            sign = 1 if tail == 0 else -1
            t = np.linspace(0, 1, 30)
            path = np.stack([sign * (0.35 + 0.5 * t), sign * 0.7 * t**2], 1)
            pen.line(_rotate(path, features.angle))
    if kind == "lens":
        t = np.linspace(-1.0, 1.0, 40) + features.angle
        pen.line(np.stack([0.75 * np.cos(t), 0.75 * np.sin(t)], 1))
    if features.bulge:
        pen.dot((0.0, 0.0), features.bulge)
    return pen.image()


def symbol_of(params: dict[str, float], rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """A freshly varied symbol of a simulated galaxy, from its stored parameters."""
    return draw_symbol(features_from_parameters(params), rng, size)


def class_symbol(name: str, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """A freshly varied symbol of a class (or ``lens``)."""
    return draw_symbol(class_features(name, rng), rng, size)


def save_symbol_sheet(path: Path, variations: int = 4, size: int = 64, seed: int = 0) -> Path:
    """A PNG of every symbol, one column per class (and ``lens``), ``variations`` rows."""
    rng = np.random.default_rng(seed)
    panels = {
        name.replace("_", " "): np.stack(
            [class_symbol(name, rng, size)[None] for _ in range(variations)]
        )
        for name in SYMBOL_NAMES
    }
    return save_image_grid(panels, path)
