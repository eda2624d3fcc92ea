"""Each strategy ranks the galaxies it should: the doubtful, the far, the typical, or a shuffle."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from galvision.label.acquisition import PoolState, entropy, margin, rank
from galvision.label.pool import unit_rows


def line_pool() -> np.ndarray:
    """Five unit vectors at increasing angles from the first."""
    angles = np.linspace(0, np.pi / 2, 5)
    return unit_rows(np.stack([np.cos(angles), np.sin(angles)], axis=1))


def test_entropy_and_margin_by_hand() -> None:
    probabilities = np.array([[0.5, 0.5], [0.9, 0.1], [1.0, 0.0]])
    assert entropy(probabilities) == pytest.approx([np.log(2), 0.325083, 0.0], abs=1e-5)
    assert margin(probabilities) == pytest.approx([0.0, 0.8, 1.0])


@pytest.mark.parametrize("strategy", ["entropy", "margin"])
def test_uncertainty_ranks_the_most_doubtful_first(strategy: str) -> None:
    probabilities = np.array([[0.9, 0.1], [0.55, 0.45], [0.99, 0.01], [0.7, 0.3], [0.5, 0.5]])
    state = PoolState(line_pool(), probabilities, labelled=np.array([4]), seed=0)
    assert list(rank(strategy, state, 2)) == [1, 3, 0, 2]


def test_kcentre_goes_farthest_from_the_labelled_first() -> None:
    state = PoolState(line_pool(), None, labelled=np.array([0]), seed=0)
    ranked = list(rank("kcentre", state, 2))
    assert ranked[0] == 4  # the far end of the arc
    assert ranked[1] == 2  # then the middle, farthest from both


def test_uncertainty_without_a_learner_falls_back_to_kcentre() -> None:
    state = PoolState(line_pool(), None, labelled=np.array([0]), seed=0)
    assert list(rank("entropy", state, 2)) == list(rank("kcentre", state, 2))


def test_hybrid_diversifies_among_the_uncertain() -> None:
    # Rows 1 and 2 are the most doubtful and nearly the same galaxy; row 4 is doubtful too and
    # far away. Entropy shows the near-copies first; the hybrid spreads out among the doubtful.
    embeddings = unit_rows(np.array([[1, 0], [0, 1], [0.02, 1], [1, 0.1], [-1, 0.1]]))
    probabilities = np.array([[0.99, 0.01], [0.5, 0.5], [0.51, 0.49], [0.98, 0.02], [0.6, 0.4]])
    state = PoolState(embeddings, probabilities, labelled=np.array([0]), seed=0)
    assert list(rank("entropy", state, 1))[:3] == [1, 2, 4]
    first_two = list(rank("hybrid", state, 1))[:2]
    assert set(first_two) != {1, 2}


def test_random_is_a_seeded_shuffle_of_the_unlabelled() -> None:
    state = PoolState(line_pool(), None, labelled=np.array([2]), seed=3)
    ranked = list(rank("random", state, 2))
    assert sorted(ranked) == [0, 1, 3, 4]
    assert ranked == list(rank("random", state, 2))
    assert ranked != list(rank("random", PoolState(line_pool(), None, np.array([2]), 4), 2))


def clusters_on_the_circle() -> tuple[np.ndarray, list[int], list[int], list[int]]:
    """Unit vectors in three groups, 31 and 15 densest at their middles, and 2 outliers."""
    spread = [np.linspace(-1, 1, n) ** 3 for n in (31, 15)]  # densest at the middle
    groups = [0.3 * spread[0], 1.5 + 0.1 * spread[1], [3.0, 3.01]]
    angles = np.concatenate(groups)
    starts = np.cumsum([0, *map(len, groups)])
    rows = [list(range(a, b)) for a, b in itertools.pairwise(starts)]
    return unit_rows(np.stack([np.cos(angles), np.sin(angles)], axis=1)), *rows


def test_typiclust_takes_the_most_typical_galaxy_of_the_largest_uncovered_cluster() -> None:
    embeddings, large, small, outliers = clusters_on_the_circle()
    ranked = list(rank("typiclust", PoolState(embeddings, None, np.array([], int), seed=0), 3))
    assert ranked[0] == large[15]  # the middle of the largest cluster: densest around it
    assert ranked[1] == small[7]
    assert ranked[2] in large  # both covered once: the larger again
    assert set(ranked[-2:]) == set(outliers)  # too small to be a cluster: shown last
    assert sorted(ranked) == list(range(len(embeddings)))


def test_typiclust_turns_to_clusters_without_labels() -> None:
    embeddings, large, small, _ = clusters_on_the_circle()
    labelled = np.array([large[15]])
    ranked = list(rank("typiclust", PoolState(embeddings, None, labelled, seed=0), 2))
    assert ranked[0] == small[7]
    assert ranked[1] in (large[14], large[16])  # the next most typical of the larger cluster
    assert large[15] not in ranked
