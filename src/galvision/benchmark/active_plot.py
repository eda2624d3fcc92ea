"""The active-learning curves: test AUROC against labels, one panel per set."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def mean_curve(runs: list[list[dict]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Label counts every seed reached, and the mean, lowest and highest AUROC there."""
    shared = sorted(set.intersection(*({p["labels"] for p in run} for run in runs)))
    table = np.array([[{p["labels"]: p["auroc"] for p in run}[n] for n in shared] for run in runs])
    return np.array(shared), table.mean(0), table.min(0), table.max(0)


def save_curves(curves_by_set: dict[str, dict[str, list[list[dict]]]], path: Path) -> Path:
    """AUROC against labels (log scale) for every method of every set, seeds shaded."""
    figure, axes = plt.subplots(
        1, len(curves_by_set), figsize=(5.5 * len(curves_by_set), 4), squeeze=False
    )
    for axis, (name, curves) in zip(axes[0], curves_by_set.items(), strict=True):
        for method, runs in curves.items():
            if not all(runs):
                continue
            labels, mean, low, high = mean_curve(runs)
            style = {"marker": "o", "linestyle": "--"} if len(labels) < 8 else {}
            (line,) = axis.plot(labels, mean, label=method, **style)
            if len(runs) > 1:
                axis.fill_between(labels, low, high, color=line.get_color(), alpha=0.2)
        for threshold in (0.90, 0.95):
            axis.axhline(threshold, color="grey", linewidth=0.6, linestyle=":")
        axis.set_xscale("log")
        axis.set_xlabel("labels")
        axis.set_ylabel("test AUROC")
        axis.set_title(name)
        axis.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
