"""The fast learner of the labelling loop: a logistic regression on frozen foundation embeddings.

It retrains from every standing label in well under a second on a CPU, so the page can show
fresh scores within seconds of a label. Its accuracy is estimated by stratified
cross-validation on the labels themselves: actively chosen galaxies are the hard ones, so the
estimate is, if anything, pessimistic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

MAX_FOLDS = 5


def probe_pipeline(seed: int, balanced: bool = False) -> Pipeline:
    """Standardised features into a logistic regression (``balanced``: classes weighted)."""
    return make_pipeline(
        StandardScaler(),
        LogisticRegression(
            max_iter=5000, random_state=seed, class_weight="balanced" if balanced else None
        ),
    )


@dataclass(frozen=True)
class FittedLearner:
    """A trained probe and the classes it scores, in the session's class order."""

    probe: Pipeline
    num_classes: int

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """(N, classes) probabilities; classes no label named yet get zero."""
        scored = np.zeros((len(embeddings), self.num_classes))
        scored[:, self.probe.classes_] = self.probe.predict_proba(embeddings)
        return scored


def fit_learner(
    features: np.ndarray, labels: np.ndarray, num_classes: int, seed: int
) -> FittedLearner | None:
    """A probe on labelled embeddings (``labels``: class indices); None under two classes."""
    if len(np.unique(labels)) < 2:
        return None
    probe = probe_pipeline(seed, balanced=True).fit(features, labels)
    return FittedLearner(probe, num_classes)


def estimated_accuracy(features: np.ndarray, labels: np.ndarray, seed: int) -> float | None:
    """Stratified k-fold accuracy of the probe on its own labels, over the classes with two
    labels or more; None while fewer than two classes have that many."""
    classes, counts = np.unique(labels, return_counts=True)
    kept = np.isin(labels, classes[counts >= 2])
    counts = counts[counts >= 2]
    folds = min(MAX_FOLDS, int(counts.min())) if len(counts) >= 2 else 0
    if folds < 2:
        return None
    split = StratifiedKFold(folds, shuffle=True, random_state=seed)
    probe = probe_pipeline(seed, balanced=True)
    return float(cross_val_score(probe, features[kept], labels[kept], cv=split).mean())
