"""The active-learning curves: test AUROC and accuracy against labels, a column per set."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

METRICS = {"auroc": "test AUROC", "accuracy": "test accuracy"}


def mean_curve(
    runs: list[list[dict]], metric: str = "auroc"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Label counts every seed reached, and the mean, lowest and highest ``metric`` there."""
    shared = sorted(set.intersection(*({p["labels"] for p in run} for run in runs)))
    table = np.array([[{p["labels"]: p[metric] for p in run}[n] for n in shared] for run in runs])
    return np.array(shared), table.mean(0), table.min(0), table.max(0)


def draw_methods(axis: plt.Axes, curves: dict[str, list[list[dict]]], metric: str) -> None:
    """Every method's mean ``metric`` against labels (log scale), its seeds' range shaded."""
    for method, runs in curves.items():
        if not all(runs):
            continue
        labels, mean, low, high = mean_curve(runs, metric)
        style = {"marker": "o", "linestyle": "--"} if len(labels) < 8 else {}
        (line,) = axis.plot(labels, mean, label=method, **style)
        if len(runs) > 1:
            axis.fill_between(labels, low, high, color=line.get_color(), alpha=0.2)
    axis.set_xscale("log")
    axis.set_xlabel("labels")
    axis.set_ylabel(METRICS[metric])


def save_curves(curves_by_set: dict[str, dict[str, list[list[dict]]]], path: Path) -> Path:
    """AUROC (top row, with the 0.90 and 0.95 marks) and accuracy (bottom row) against labels
    for every method of every set, seeds shaded."""
    figure, axes = plt.subplots(
        len(METRICS), len(curves_by_set), figsize=(5.5 * len(curves_by_set), 7), squeeze=False
    )
    for column, (name, curves) in enumerate(curves_by_set.items()):
        for row, metric in enumerate(METRICS):
            axis = axes[row, column]
            draw_methods(axis, curves, metric)
            axis.set_title(name)
        for threshold in (0.90, 0.95):
            axes[0, column].axhline(threshold, color="grey", linewidth=0.6, linestyle=":")
        axes[0, column].legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
