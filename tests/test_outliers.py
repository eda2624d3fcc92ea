"""Outlier scores, planted artefacts, `galvision outliers` and `galvision benchmark outliers`."""

from pathlib import Path

import numpy as np
import pytest

from galvision.cli import main
from galvision.data.simulate.artefacts import satellite_trail, saturated_star
from galvision.embeddings.outliers import outlier_scores
from galvision.errors import ConfigError, DataError
from helpers.training import csv_rows

CONF = Path(__file__).parent / "conf"


@pytest.mark.parametrize("method", ["knn", "iforest"])
def test_planted_outliers_rank_first(method):
    rng = np.random.default_rng(0)
    common = rng.normal(size=(500, 16)) + 5 * np.eye(16)[rng.integers(0, 4, 500)]
    planted = 6 * rng.normal(size=(8, 16))
    scores = outlier_scores(np.concatenate([common, planted]), method)
    assert set(np.argsort(-scores)[:8]) == set(range(500, 508))


def test_bad_outlier_input_is_a_one_line_error():
    with pytest.raises(ConfigError, match="method 'lof' is not one of"):
        outlier_scores(np.ones((20, 3)), "lof")
    with pytest.raises(DataError, match="need more than k=10 rows"):
        outlier_scores(np.ones((5, 3)), "knn")
    with pytest.raises(DataError, match="non-empty"):
        outlier_scores(np.empty((0, 3)), "iforest")


def test_artefacts_add_light_where_they_should():
    rng = np.random.default_rng(3)
    clean = np.zeros((3, 32, 32), dtype=np.float32)
    clean[:, 14:18, 14:18] = 1.0
    trail = satellite_trail(clean, rng) - clean
    assert (trail >= 0).all() and 0.02 < (trail[0] > 0).mean() < 0.3  # a thin band, not a fill
    star = saturated_star(clean, rng) - clean
    assert star.sum() > 20 * clean.sum() * 0.99  # far brighter than the galaxy
    column = int(np.unravel_index(star[0].argmax(), star[0].shape)[1])
    assert (star[0][:, column] >= 3 * clean.max()).sum() > 5  # the bleed trail


def test_outliers_verb_ranks_every_row(tiny_embeddings, tmp_path, capsys):
    out = tmp_path / "out"
    main(["outliers", str(tiny_embeddings), "--top", "10", "--data",
          str(CONF / "tiny_morphology.yaml"), "--output", str(out)])  # fmt: skip
    ranked = csv_rows(out / "outliers.csv")
    assert [row["rank"] for row in ranked] == [str(r) for r in range(1, 11)]
    scores = [float(row["score"]) for row in ranked]
    assert scores == sorted(scores, reverse=True)
    assert (out / "outliers.png").stat().st_size > 0


def test_outlier_benchmark_table(tiny_mae, tmp_path):
    out = tmp_path / "out"
    main(["benchmark", "outliers", "--foundation", str(tiny_mae), "--data",
          str(CONF / "tiny_morphology.yaml"), "--lenses", str(CONF / "tiny_lens_stamps.yaml"),
          "--planted", "1", "--output", str(out)])  # fmt: skip
    rows = csv_rows(out / "outliers.csv")
    assert [(r["features"], r["method"]) for r in rows] == [
        ("foundation", "knn"), ("foundation", "iforest"),
        ("pixels (PCA 24)", "knn"), ("pixels (PCA 24)", "iforest"),
    ]  # fmt: skip
    assert all(0 <= float(r["pr_auc"]) <= 1 for r in rows)
    assert (out / "outliers_top.png").stat().st_size > 0
