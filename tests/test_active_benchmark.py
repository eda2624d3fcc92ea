"""galvision benchmark active: reading curves, the oracle through the service, a tiny run."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from galvision.benchmark import active_runs
from galvision.benchmark.active import (
    check_arguments,
    labels_to_reach,
    reach_cell,
    resnet_counts,
    resnet_note,
    score_at,
)
from galvision.benchmark.active_runs import (
    every_label_scores,
    heldout_scores,
    labelling_code,
    oracle_curve,
    resumable_curve,
)
from galvision.benchmark.active_sets import ActiveSet, Split, embed_set, split_rows
from galvision.cli import main
from galvision.errors import ConfigError
from galvision.label.store import LabelStore
from helpers.labelling import CLASSES, toy_pool
from helpers.training import CONF, REPO, csv_rows

CURVES = [
    [{"labels": 10, "auroc": 0.80}, {"labels": 20, "auroc": 0.91}, {"labels": 30, "auroc": 0.96}],
    [{"labels": 10, "auroc": 0.85}, {"labels": 20, "auroc": 0.89}, {"labels": 30, "auroc": 0.93}],
]


def test_reading_curves_by_hand() -> None:
    assert labels_to_reach(CURVES[0], 0.90) == 20
    assert labels_to_reach(CURVES[1], 0.90) == 30
    assert labels_to_reach(CURVES[1], 0.95) is None
    assert reach_cell(CURVES, 0.90, 30) == "25 ± 5"
    assert reach_cell(CURVES, 0.95, 30) == "> 30"
    assert score_at(CURVES, 20) == "0.900 ± 0.010"
    assert score_at(CURVES, 25) == "—"
    accurate = [[point | {"accuracy": point["auroc"] - 0.1} for point in curve] for curve in CURVES]
    assert score_at(accurate, 30, "accuracy") == "0.845 ± 0.015"


def test_the_resnet_note_averages_its_seeds() -> None:
    args = argparse.Namespace(resnet_steps=600, seeds=[3, 4, 5])
    note = resnet_note(CURVES, args)
    assert note == (
        "ResNet-18 from scratch: 600 steps on random labels, seeds 3 4 "
        "(AUROC 0.825 at 10, 0.900 at 20, 0.945 at 30 labels). "
    )
    assert "seed 3 (AUROC 0.800 at 10," in resnet_note(CURVES[:1], args)


def test_resnet_counts_beyond_the_pool_are_the_whole_pool_once() -> None:
    assert resnet_counts(["800", "all", "50", "2400"], 2400) == [50, 800, 2400]
    assert resnet_counts(["5000", "200"], 4145) == [200, 4145]
    assert resnet_counts([], 100) == []


ARGUMENTS = {
    "page": 10,
    "budget": 100,
    "resnet_labels": ["all"],
    "seeds": [0, 1],
    "resnet_seeds": 1,
    "prior": Path("prior.ckpt"),
    "prior_weight": [1.0],
}


def test_more_resnet_seeds_than_seeds_is_refused() -> None:
    with pytest.raises(ConfigError, match="--resnet-seeds 3"):
        check_arguments(argparse.Namespace(**ARGUMENTS | {"resnet_seeds": 3}))
    check_arguments(argparse.Namespace(**ARGUMENTS | {"resnet_seeds": 2}))


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        ({"prior_weight": [1.0, -1.0]}, r"^--prior-weight \[1.0, -1.0\]: each must be distinct"),
        ({"prior_weight": [2.0, 2.0]}, r"^--prior-weight \[2.0, 2.0\]: each must be distinct"),
        ({"prior_weight": [1.0, 2.0], "prior": None}, r"several weights need a --prior$"),
    ],
)
def test_prior_weights_that_cannot_be_told_apart_are_refused(changed: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_arguments(argparse.Namespace(**ARGUMENTS | changed))
    check_arguments(argparse.Namespace(**ARGUMENTS | {"prior_weight": [0.0, 1.0, 2.0]}))


def test_auroc_averages_only_the_classes_the_test_split_holds() -> None:
    test = Split(np.arange(4), [], np.zeros((4, 2)), np.array([0, 0, 1, 1]))
    probabilities = np.array([[0.9, 0.1, 0], [0.6, 0.4, 0], [0.3, 0.7, 0], [0.6, 0.3, 0.1]])
    scores = heldout_scores(probabilities, test, 3)
    # class 0: 3.5 of 4 positive-negative pairs in order (one tie); class 1: 3 of 4; class 2 absent
    assert scores["auroc"] == pytest.approx((0.875 + 0.75) / 2)
    assert scores["accuracy"] == pytest.approx(0.75)


def toy_split(seed: int) -> Split:
    pool, truth = toy_pool(size=80, seed=seed)
    return Split(np.arange(80), pool.names, pool.embeddings, truth)


@pytest.mark.parametrize("strategy", ["random", "hybrid"])
def test_oracle_labels_through_the_session(tmp_path: Path, strategy: str) -> None:
    pool, test = toy_split(0), toy_split(1)
    curve = oracle_curve(pool, test, CLASSES, strategy, 0, budget=20, page=5, folder=tmp_path)
    assert [point["labels"] for point in curve][-1] == 20
    assert curve[-1]["auroc"] > 0.95  # two well-separated clusters
    stored = LabelStore(tmp_path / f"{strategy}-seed0.sqlite", CLASSES).current_labels()
    assert len(stored) == 20 and {label.labeller for label in stored} == {"oracle"}
    assert all(label.label == CLASSES[pool.labels[label.row]] for label in stored)


def test_the_prior_enters_the_scores_at_its_weight(tmp_path: Path) -> None:
    pool, test = toy_split(0), toy_split(1)
    backwards = [
        dataclasses.replace(part, prior=np.where(part.labels[:, None] == [1, 0], 0.999, 0.001))
        for part in (pool, test)
    ]  # sure, and always wrong

    def curve(parts: list[Split], weight: float, name: str) -> list[dict]:
        folder = tmp_path / name
        return oracle_curve(*parts, CLASSES, "random", 0, 10, 5, folder, prior_weight=weight)

    alone = curve([pool, test], 1.0, "alone")
    assert curve(backwards, 0.0, "unweighted") == alone
    misled = curve(backwards, 1.0, "misled")
    assert misled[-1]["auroc"] < 0.5 < alone[-1]["auroc"]


def test_the_prior_is_scored_while_one_class_has_all_labels(tmp_path: Path) -> None:
    pool, test = toy_split(0), toy_split(1)
    smooth_only = dataclasses.replace(pool, labels=np.zeros_like(pool.labels))
    assert oracle_curve(smooth_only, test, CLASSES, "random", 0, 10, 5, tmp_path / "none") == []
    prior = np.where(test.labels[:, None] == [0, 1], 0.6, 0.4)
    with_prior = [
        dataclasses.replace(smooth_only, prior=np.full((80, 2), 0.5)),
        dataclasses.replace(test, prior=prior),
    ]
    curve = oracle_curve(*with_prior, CLASSES, "random", 0, 10, 5, tmp_path / "prior")
    assert [point["labels"] for point in curve] == [5, 10]
    assert all(point["auroc"] == 1.0 for point in curve)  # the prior alone, and right


def test_a_curve_made_by_other_labelling_code_is_made_again(tmp_path: Path, monkeypatch) -> None:
    made = []

    def make() -> list[dict]:
        made.append(len(made))
        return [{"labels": 10, "auroc": 0.5, "accuracy": 0.5}]

    key = {"strategy": "kcentre", "seed": 0, "code": labelling_code()}
    assert resumable_curve(tmp_path, key, make) == resumable_curve(tmp_path, key, make)
    assert made == [0]
    monkeypatch.setattr(active_runs.inspect, "getsource", lambda module: "edited")
    assert labelling_code() != key["code"]
    resumable_curve(tmp_path, key | {"code": labelling_code()}, make)
    assert made == [0, 1]


@pytest.mark.timeout(900)
def test_tiny_benchmark_writes_table_and_curves(
    tmp_path: Path, tiny_mae: Path, tiny_classifier: Path
) -> None:
    main(
        [
            "benchmark", "active", "--backbone", str(tiny_mae), "--sets", "sim",
            "--prior", str(tiny_classifier), "--prior-weight", "0.5", "2",
            "--sim-data", str(CONF / "tiny_morphology.yaml"), "--strategies", "random", "kcentre",
            "--seeds", "0", "--budget", "10", "--page", "5", "--checkpoints", "5", "10",
            "--resnet-labels", "8", "--resnet-steps", "2",
            "--config", str(REPO / "tasks" / "classify.yaml"),
            "--output", str(tmp_path),
        ]
    )  # fmt: skip
    rows = csv_rows(tmp_path / "active_sim.csv")
    assert [row["method"] for row in rows] == [
        "random, prior weight 0.5",
        "random, prior weight 2",
        "kcentre, prior weight 0.5",
        "kcentre, prior weight 2",
        "ResNet-18 from scratch",
    ]
    assert (tmp_path / "active_sim.png").is_file()
    accuracy = csv_rows(tmp_path / "active_sim_accuracy.csv")
    assert [row["method"] for row in accuracy] == [row["method"] for row in rows]
    assert all(0 <= float(row["accuracy@10"]) <= 1 for row in accuracy[:-1])  # one seed
    assert accuracy[-1]["accuracy@10"] == "—"  # the ResNet-18 trained on 8 labels only
    notes = (tmp_path / "active_sim.md").read_text()
    assert "A label to rescored page in" in notes
    assert "ResNet-18 from scratch: 2 steps on random labels, seed 0 (AUROC" in notes
    assert "The learner on all 12 pool labels: AUROC" in notes
    assert f"The prior ({tiny_classifier}, weight 0.5, 2) alone, before any label: AUROC" in notes
    curves = (tmp_path / "active" / "sim" / "curves").glob("*.json")
    stored = [json.loads(path.read_text())["key"] for path in curves]
    assert all(key["code"] == labelling_code() for key in stored)
    weights = sorted(key["prior"].rsplit("x", 1)[1] for key in stored)
    assert weights == ["0.5", "0.5", "2", "2"]
    assert len(list((tmp_path / "active" / "embeddings").glob("*-prior-*.npy"))) == 2


def test_a_set_without_test_split_is_scored_on_its_whole_catalogue_sharing_the_pool(
    tmp_path: Path, tiny_mae: Path
) -> None:
    config = CONF / "tiny_morphology.yaml"
    split = ActiveSet("split", config, "train", config)
    whole = ActiveSet("whole", config, "train", config, test_split=None)
    _, test = embed_set(split, str(tiny_mae), tmp_path)
    pool, everything = embed_set(whole, str(tiny_mae), tmp_path)
    assert len(test.rows) == 8 and len(everything.rows) == 24
    assert set(test.rows) < set(everything.rows) and set(pool.rows) < set(everything.rows)
    assert len(everything.embeddings) == len(everything.labels) == 24
    assert len(list(tmp_path.glob("*.npz"))) == 3  # the shared pool embedded once
    again, _ = embed_set(whole, str(tiny_mae), tmp_path)
    assert np.array_equal(again.embeddings, pool.embeddings) and again.names == pool.names


def test_a_set_scored_on_several_splits_holds_their_rows_and_no_others(
    tmp_path: Path, tiny_mae: Path
) -> None:
    config = CONF / "tiny_morphology.yaml"
    held_out = ActiveSet("dev", config, "train", config, test_split=("train", "val"))
    _, dev = embed_set(held_out, str(tiny_mae), tmp_path)
    train, val, test = (split_rows(config, name) for name in ("train", "val", "test"))
    assert np.array_equal(dev.rows, np.sort(np.concatenate([train, val])))
    assert not set(dev.rows) & set(test) and len(dev.labels) == len(dev.rows)
    assert len(list(tmp_path.glob("tiny_morphology-train+val-*.npz"))) == 1
    with pytest.raises(ConfigError, match=r"tiny_morphology\.yaml: no split 'dev'; the splits"):
        split_rows(config, ("train", "dev"))


def test_the_every_label_score_comes_with_its_bootstrap_spread() -> None:
    pool, clean = toy_split(0), toy_split(1)
    flipped = np.where(np.arange(80) % 5 == 0, 1 - clean.labels, clean.labels)  # a noisy truth
    test = Split(clean.rows, clean.names, clean.embeddings, flipped)
    scores = every_label_scores(pool, test, len(CLASSES), seed=0)
    assert 0.6 < scores["auroc"] < 0.95 and 0 <= scores["accuracy"] <= 1
    assert 0 < scores["auroc_sd"] < 0.2
    assert every_label_scores(pool, test, len(CLASSES), seed=0) == scores  # seeded draws
    few = Split(test.rows[:20], test.names[:20], test.embeddings[:20], test.labels[:20])
    assert every_label_scores(pool, few, len(CLASSES), seed=0)["auroc_sd"] > scores["auroc_sd"]
