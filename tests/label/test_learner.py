"""The learner separates what is separable, and says so only once it can tell."""

from __future__ import annotations

import numpy as np
import pytest

from galvision.label.learner import estimated_accuracy, fit_learner
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
