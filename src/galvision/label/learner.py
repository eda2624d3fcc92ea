"""The fast learner of the labelling loop: a logistic regression on frozen foundation embeddings.

It retrains from every standing label in about a second on a CPU, so the page can show
fresh scores within seconds of a label. How strongly it is regularised is chosen by stratified
cross-validation of the log-loss on the labels given so far: a few dozen labels want a strong
prior, thousands a weak one. Its accuracy is estimated by cross-validation on the labels too:
actively chosen galaxies are the hard ones, so the estimate is, if anything, pessimistic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_val_score,
    train_test_split,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

MAX_FOLDS = 5
MIN_FOLDS = 3  # fewer labels in some class: no cross-validation, the strength below
STRENGTHS = (0.01, 0.03, 0.1, 0.3, 1.0)  # inverse regularisation strengths C to choose from
FEW_LABELS_STRENGTH = 0.1
SEARCH_LABELS = 400  # the strength is chosen on at most this many labels, to stay fast


def one_blas_thread() -> threadpool_limits:
    """BLAS on one thread while the probe fits: its matrices are small, and threads contending
    with the web server or a training run made the fits twenty times slower."""
    return threadpool_limits(limits=1, user_api="blas")


def probe_pipeline(seed: int, balanced: bool = False, strength: float = 1.0) -> Pipeline:
    """Standardised features into a logistic regression of inverse regularisation strength
    ``strength`` (``balanced``: classes weighted)."""
    return make_pipeline(
        StandardScaler(),
        LogisticRegression(
            C=strength,
            max_iter=5000,
            random_state=seed,
            class_weight="balanced" if balanced else None,
        ),
    )


def folds_for(labels: np.ndarray) -> int:
    """Stratified folds the labels allow: each class needs a label in every fold."""
    return min(MAX_FOLDS, int(np.unique(labels, return_counts=True)[1].min()))


def chosen_strength(features: np.ndarray, labels: np.ndarray, seed: int) -> float:
    """The strength of :data:`STRENGTHS` with the best cross-validated log-loss, or
    :data:`FEW_LABELS_STRENGTH` while some class has too few labels to cross-validate."""
    folds = folds_for(labels)
    if folds < MIN_FOLDS:
        return FEW_LABELS_STRENGTH
    if len(labels) > SEARCH_LABELS:
        kept, _, kept_labels, _ = train_test_split(
            features, labels, train_size=SEARCH_LABELS, stratify=labels, random_state=seed
        )
        if folds_for(kept_labels) >= MIN_FOLDS:  # a rare class may lose labels to the draw
            features, labels, folds = kept, kept_labels, folds_for(kept_labels)
    search = GridSearchCV(
        probe_pipeline(seed, balanced=True),
        {"logisticregression__C": list(STRENGTHS)},
        scoring="neg_log_loss",
        cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
        refit=False,
    )
    search.fit(features, labels)
    return float(search.best_params_["logisticregression__C"])


@dataclass(frozen=True)
class FittedLearner:
    """A trained probe and the classes it scores, in the session's class order."""

    probe: Pipeline
    num_classes: int
    strength: float = 1.0

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
    with one_blas_thread():
        strength = chosen_strength(features, labels, seed)
        probe = probe_pipeline(seed, balanced=True, strength=strength).fit(features, labels)
    return FittedLearner(probe, num_classes, strength)


def estimated_accuracy(
    features: np.ndarray, labels: np.ndarray, seed: int, strength: float = 1.0
) -> float | None:
    """Stratified k-fold accuracy of the probe (of ``strength``) on its own labels, over the
    classes with two labels or more; None while fewer than two classes have that many."""
    classes, counts = np.unique(labels, return_counts=True)
    kept = np.isin(labels, classes[counts >= 2])
    if (counts >= 2).sum() < 2:  # then every kept class fills at least two folds
        return None
    split = StratifiedKFold(folds_for(labels[kept]), shuffle=True, random_state=seed)
    probe = probe_pipeline(seed, balanced=True, strength=strength)
    with one_blas_thread():
        scores = cross_val_score(probe, features[kept], labels[kept], cv=split)
    return float(scores.mean())
