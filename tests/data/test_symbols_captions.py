"""Symbols drawn from parameters with fresh variation; captions that say what parameters show."""

from __future__ import annotations

import numpy as np
import pytest

from galvision.data.captions import NOUNS, TEMPLATES, caption, class_prompts
from galvision.data.simulate import CLASS_NAMES, SurveyConfig, sample_morphology_parameters
from galvision.data.simulate.symbols import SYMBOL_NAMES, class_symbol, symbol_of

REALISTIC = SurveyConfig(catalogue="morphology", galaxies="realistic", mag_range=(16.0, 17.0))


def params_of(name: str, seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    return sample_morphology_parameters(rng, REALISTIC, CLASS_NAMES.index(name))


def elongation(image: np.ndarray) -> float:
    """Ratio of the principal second moments of a drawing's ink."""
    y, x = np.nonzero(image > 0.3)
    return float(np.sqrt(np.divide(*sorted(np.linalg.eigvalsh(np.cov(x, y)))[::-1])))


@pytest.mark.parametrize("name", SYMBOL_NAMES)
def test_every_symbol_is_ink_on_black_and_never_the_same_bitmap(name: str) -> None:
    rng = np.random.default_rng(0)
    first, second = class_symbol(name, rng, 48), class_symbol(name, rng, 48)
    assert first.shape == (48, 48) and first.dtype == np.float32
    assert first.min() >= 0.0 and first.max() <= 1.0 and first.max() > 0.5
    assert 0.01 < (first > 0.3).mean() < 0.5  # strokes, not a filled square or nothing
    assert np.abs(first - second).max() > 0.5


def test_symbols_follow_the_galaxy_shape() -> None:
    rng = np.random.default_rng(1)
    round_ = np.median([elongation(class_symbol("smooth_round", rng)) for _ in range(10)])
    edge_on = np.median([elongation(class_symbol("edge_on_no_bulge", rng)) for _ in range(10)])
    assert round_ < 1.3 and edge_on > 4.0
    # From a simulated galaxy's parameters: a cigar galaxy draws as an elongated outline.
    cigar = symbol_of(params_of("smooth_cigar"), rng)
    assert elongation(cigar) > 1.8


def test_captions_name_the_class_and_what_parameters_show() -> None:
    rng = np.random.default_rng(2)
    spiral = params_of("barred_spiral")
    texts = [caption(spiral, rng) for _ in range(40)]
    assert all(any(noun in text for noun in NOUNS["barred_spiral"]) for text in texts)
    arms = {2: "two", 3: "three", 4: "four"}[int(spiral["arm_count"])]
    assert all(f"{arms} " in text for text in texts)
    assert len(set(texts)) > 10  # synonyms, order and joins vary
    edge_on = params_of("edge_on_no_bulge")
    assert edge_on["dust_depth"] > 0
    assert all("dust lane" in caption(edge_on, rng) for _ in range(10))
    smooth = caption(params_of("smooth_round"), rng)
    assert "arm" not in smooth and "bar" not in smooth


def test_class_prompts_put_every_phrase_in_every_template() -> None:
    prompts = class_prompts("merger")
    assert len(prompts) == len(NOUNS["merger"]) * len(TEMPLATES)
    assert "an image of two merging galaxies" in prompts
