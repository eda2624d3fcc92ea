"""Frozen-feature probes: right on separable features, at chance on shuffled labels; the table."""

import numpy as np
import pytest
import torch

from galvision.benchmark.probe import knn_predictions, linear_probe
from galvision.cli import main
from helpers.catalogues import write_gz1
from helpers.training import csv_rows, task_config


def clusters(per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated Gaussian clusters in 16 dimensions."""
    rng = np.random.default_rng(seed)
    centres = 10 * np.eye(3, 16)
    labels = np.repeat(np.arange(3), per_class)
    return centres[labels] + rng.normal(size=(len(labels), 16)), labels


def test_probes_classify_separable_features_and_not_shuffled_ones():
    train, (test, truth) = clusters(20, 0), clusters(10, 1)
    probabilities = linear_probe(train, test, seed=0)
    assert torch.equal(probabilities.argmax(1), torch.from_numpy(truth))
    assert torch.equal(knn_predictions(train, test), torch.from_numpy(truth))
    shuffled = (train[0], np.random.default_rng(2).permutation(train[1]))
    accuracy = (knn_predictions(shuffled, test).numpy() == truth).mean()
    assert accuracy < 0.7


def test_probe_benchmark_scores_each_backbone_on_simulated_and_real_galaxies(tiny_mae, tmp_path):
    real = write_gz1(tmp_path / "gz1.h5")
    main(
        [
            "benchmark", "probe", "--backbone", str(tiny_mae),
            "--config", *map(str, task_config("classify")),
            "--real", str(real), "--real-config", *map(str, task_config("classify_gz1")),
            "--real-labels", "2", "all", "--output", str(tmp_path / "out"),
        ]
    )  # fmt: skip
    rows = csv_rows(tmp_path / "out" / "probe.csv")
    assert [row["backbone"] for row in rows] == ["random init", str(tiny_mae)]
    for row in rows:
        # 8 simulated test galaxies: accuracies are counts of right answers.
        for key in ("sim_linear", "sim_knn"):
            assert 8 * float(row[key]) == pytest.approx(round(8 * float(row[key])), abs=1e-4)
        assert {"gz1_2_accuracy", "gz1_all_f1_macro", "gz1_all_auroc_spiral"} <= set(row)
