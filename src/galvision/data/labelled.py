"""Label budgets: the labelled part of a training split, by count per class or by fraction."""

from __future__ import annotations

import numpy as np

from galvision.errors import ConfigError, DataError


def check_label_budget(labels_per_class: int | None, label_fraction: float | None) -> None:
    """One line naming the option at fault: a non-positive count, a fraction outside (0, 1]."""
    if labels_per_class is not None and label_fraction is not None:
        raise ConfigError("data: give labels_per_class or label_fraction, not both")
    if labels_per_class is not None and labels_per_class < 1:
        raise ConfigError(f"data: labels_per_class must be positive, got {labels_per_class}")
    if label_fraction is not None and not 0 < label_fraction <= 1:
        raise ConfigError(f"data: label_fraction must lie in (0, 1], got {label_fraction}")


def few_shot(
    indices: np.ndarray, labels: np.ndarray, class_names: list[str], per_class: int, seed: int
) -> np.ndarray:
    """Exactly ``per_class`` of ``indices`` from every class, drawn with ``seed``, sorted."""
    rng = np.random.default_rng([seed, per_class])
    chosen = []
    for label, name in enumerate(class_names):
        members = indices[labels[indices] == label]
        if len(members) < per_class:
            raise DataError(
                f"data: class {name!r} has {len(members)} training examples, fewer than "
                f"labels_per_class={per_class}"
            )
        chosen.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def label_fraction_subset(
    indices: np.ndarray, labels: np.ndarray, fraction: float, seed: int
) -> np.ndarray:
    """``fraction`` of each class of ``indices`` (at least one of each present), seeded, sorted."""
    rng = np.random.default_rng([seed, round(fraction * 1_000_000)])
    chosen = []
    for label in np.unique(labels[indices]):
        members = indices[labels[indices] == label]
        keep = max(1, round(fraction * len(members)))
        chosen.append(rng.choice(members, keep, replace=False))
    return np.sort(np.concatenate(chosen))


def labelled_training(
    indices: np.ndarray,
    labels: np.ndarray,
    class_names: list[str],
    seed: int,
    labels_per_class: int | None = None,
    label_fraction: float | None = None,
) -> np.ndarray:
    """The training indices a label budget keeps (all of them without one)."""
    if labels_per_class is not None:
        return few_shot(indices, labels, class_names, labels_per_class, seed)
    if label_fraction is not None:
        return label_fraction_subset(indices, labels, label_fraction, seed)
    return indices
