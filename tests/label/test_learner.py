"""The learner separates what is separable, and says so only once it can tell."""

from __future__ import annotations

import numpy as np
import pytest

from galvision.label.learner import (
    FEW_LABELS_STRENGTH,
    STRENGTHS,
    chosen_strength,
    estimated_accuracy,
    fit_learner,
)
from helpers.labelling import toy_pool


def test_probe_scores_every_class_and_separates_clusters() -> None:
    pool, truth = toy_pool()
    learner = fit_learner(pool.embeddings[:20], truth[:20], num_classes=3, seed=0)
    probabilities = learner.probabilities(pool.embeddings)
    assert probabilities.shape == (len(pool), 3)
    assert np.all(probabilities[:, 2] == 0)  # no label named the third class yet
    assert (probabilities.argmax(1) == truth).mean() > 0.95


def test_no_learner_from_a_single_class() -> None:
    pool, _ = toy_pool()
    assert fit_learner(pool.embeddings[:5], np.zeros(5, int), 2, 0) is None


def test_estimated_accuracy_needs_two_labels_in_two_classes() -> None:
    pool, truth = toy_pool()
    assert estimated_accuracy(pool.embeddings[:3], np.array([0, 1, 0]), 0) is None
    assert estimated_accuracy(pool.embeddings[:30], truth[:30], 0) == pytest.approx(1.0)
    shuffled = np.random.default_rng(0).permutation(truth[:30])
    assert estimated_accuracy(pool.embeddings[:30], shuffled, 0) < 0.8


def test_strength_is_strong_for_noise_weak_for_a_clear_signal() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 64))
    noise_labels = rng.integers(0, 2, 200)
    assert chosen_strength(features, noise_labels, 0) == min(STRENGTHS)
    signal_labels = (features[:, 0] > 0).astype(int)
    assert chosen_strength(features, signal_labels, 0) > FEW_LABELS_STRENGTH


def test_too_few_labels_in_a_class_fall_back_to_the_few_label_strength() -> None:
    pool, truth = toy_pool()
    rows = np.concatenate([np.flatnonzero(truth == 0)[:10], np.flatnonzero(truth == 1)[:2]])
    learner = fit_learner(pool.embeddings[rows], truth[rows], num_classes=3, seed=0)
    assert learner.strength == FEW_LABELS_STRENGTH


def test_a_rare_class_keeps_the_strength_search_possible() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(900, 16))
    labels = np.zeros(900, int)
    labels[:3] = 1  # three labels: enough to cross-validate, too few to survive a subsample
    features[:3] += 4.0
    assert chosen_strength(features, labels, 0) in STRENGTHS
