"""Captions of simulated galaxies written from their parameters, and class prompts for zero-shot.

A caption names the galaxy's class in one of several synonymous phrases, then adds what its
parameters show (bulge size, arm count and winding, a bar, a ring, knots, a dust lane, tidal
tails, colour, elongation) in random order, joined in varied ways, so that a text tower learns
the words for structures rather than a handful of fixed sentences.
"""

from __future__ import annotations

import math

import numpy as np

from galvision.data.simulate import classes
from galvision.data.simulate.classes import CLASS_NAMES
from galvision.errors import ConfigError

NOUNS = {
    classes.SMOOTH_ROUND: [
        "a round smooth galaxy",
        "a smooth, nearly circular elliptical",
        "a featureless round elliptical galaxy",
    ],
    classes.SMOOTH_IN_BETWEEN: [
        "a smooth, somewhat elongated galaxy",
        "an oval elliptical galaxy",
        "a smooth galaxy of middling shape",
    ],
    classes.SMOOTH_CIGAR: [
        "a cigar-shaped smooth galaxy",
        "a very elongated elliptical",
        "a smooth, cigar-like galaxy",
    ],
    classes.EDGE_ON_NO_BULGE: [
        "an edge-on disk with no bulge",
        "a thin edge-on disk galaxy",
        "a flat disk seen edge-on, without a bulge",
    ],
    classes.EDGE_ON_WITH_BULGE: [
        "an edge-on disk with a bulge",
        "an edge-on disk galaxy with a central bulge",
        "a disk seen edge-on with a bulge standing out",
    ],
    classes.UNBARRED_TIGHT_SPIRAL: [
        "a tightly wound spiral galaxy",
        "a spiral with tight arms",
        "an unbarred spiral with tightly wound arms",
    ],
    classes.UNBARRED_LOOSE_SPIRAL: [
        "a loosely wound spiral galaxy",
        "a spiral with open arms",
        "an unbarred spiral with loosely wound arms",
    ],
    classes.BARRED_SPIRAL: [
        "a barred spiral galaxy",
        "a spiral with a bar",
        "a spiral galaxy with a central bar",
    ],
    classes.MERGER: [
        "two merging galaxies",
        "a merger of two galaxies",
        "a pair of interacting galaxies",
    ],
    classes.RING: ["a ring galaxy", "a galaxy with a ring", "a disk galaxy with a bright ring"],
}
LEADS = ["", "", "an image of ", "a picture of ", "this is ", "a survey cutout of "]
NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four"}
# Zero-shot prompt templates; each class prompt is averaged over them.
TEMPLATES = ["{}", "an image of {}", "a survey cutout of {}", "this is {}"]
# Galaxy Zoo 1's classes as words, for zero-shot on real galaxies.
GZ1_PROMPTS = {
    "elliptical": ["a smooth elliptical galaxy", "a round smooth galaxy"],
    "spiral": ["a spiral galaxy with arms", "a face-on spiral galaxy"],
    "edge_on": ["an edge-on disk galaxy", "a thin disk seen edge-on"],
    "merger": ["two merging galaxies", "a pair of interacting galaxies"],
}


def _has(params: dict[str, float], name: str) -> bool:
    value = params.get(name)
    return value is not None and math.isfinite(value) and value > 0


def _details(params: dict[str, float], rng: np.random.Generator) -> list[str]:
    """Phrases for what the parameters show beyond the class name."""
    name = CLASS_NAMES[int(params["label"])]
    details = []
    if _has(params, "bulge_frac") and name != classes.EDGE_ON_WITH_BULGE:
        size = "a small" if params["bulge_frac"] < 0.15 else "a prominent"
        details.append(f"{size} {rng.choice(['bulge', 'central bulge'])}")
    if _has(params, "arm_count"):
        count = NUMBERS.get(int(params["arm_count"]), str(int(params["arm_count"])))
        details.append(f"{count} {rng.choice(['arms', 'spiral arms'])}")
    if _has(params, "bar_frac") and name != classes.BARRED_SPIRAL:
        details.append("a bar")
    if _has(params, "ring_frac") and name != classes.RING:
        details.append("a ring")
    if _has(params, "knot_frac") and params["knot_frac"] > 0.15:
        details.append(rng.choice(["clumpy star-forming knots", "bright knots", "clumps"]))
    if _has(params, "dust_depth"):
        details.append(rng.choice(["a dust lane", "a dark dust lane"]))
    if _has(params, "tail_count"):
        count = int(params["tail_count"])
        details.append("a tidal tail" if count == 1 else f"{NUMBERS[count]} tidal tails")
    colours = [params.get(name) for name in ("disk_g_r", "bulge_g_r")]
    g_r = next((value for value in colours if value is not None and math.isfinite(value)), None)
    if g_r is not None and rng.uniform() < 0.5:
        details.append("a red colour" if g_r > 0.65 else "a blue colour")
    return details


def caption(params: dict[str, float], rng: np.random.Generator) -> str:
    """One caption of a simulated morphology galaxy, freshly varied by ``rng``."""
    noun = str(rng.choice(NOUNS[CLASS_NAMES[int(params["label"])]]))
    details = _details(params, rng)
    rng.shuffle(details)
    text = str(rng.choice(LEADS)) + noun
    if details:
        listed = (
            details[0] if len(details) == 1 else ", ".join(details[:-1]) + " and " + details[-1]
        )
        text += f" {rng.choice(['with', 'showing', 'that has'])} {listed}"
    return text


def class_prompts(name: str) -> list[str]:
    """Every zero-shot prompt of a morphology class: its phrases in every template."""
    if name not in NOUNS:
        raise ConfigError(f"prompts: unknown class {name!r}; known classes: {list(NOUNS)}")
    return [template.format(noun) for noun in NOUNS[name] for template in TEMPLATES]
