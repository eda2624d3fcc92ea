"""Rows compared seed by seed."""

import pytest

from galvision.benchmark.paired import paired_difference, paired_rows


def test_a_difference_every_seed_shows_is_seen_through_a_large_seed_effect():
    uniform = [{"psnr": 30.0}, {"psnr": 35.0}, {"psnr": 32.0}]
    active = [{"psnr": 30.5}, {"psnr": 35.4}, {"psnr": 32.6}]
    found = paired_difference(active, uniform, "psnr")
    assert found.mean == pytest.approx(0.5) and found.spread == pytest.approx(0.1)
    assert (found.ahead, found.seeds) == (3, 3)
    assert found.text("psnr") == "+0.50 ± 0.10 (3/3)"


def test_a_difference_the_seeds_disagree_on_counts_only_the_seeds_ahead():
    found = paired_difference([{"auroc": 0.9}, {"auroc": 0.8}], [{"auroc": 0.85}, {"auroc": 0.82}],
                              "auroc")  # fmt: skip
    assert (found.ahead, found.seeds) == (1, 2)
    assert found.text("auroc") == "+0.015 ± 0.035 (1/2)"
    behind = paired_difference([{"auroc": 0.8}], [{"auroc": 0.9}], "auroc")
    assert behind.text("auroc") == "-0.100 ± 0.000 (0/1)"


def test_a_column_some_seed_lacks_is_left_out():
    assert paired_difference([{"psnr": 1.0}, {}], [{"psnr": 0.0}, {"psnr": 0.0}], "psnr") is None
    assert paired_difference([{"psnr": 1.0}], [{"psnr": 0.0}, {"psnr": 0.0}], "psnr") is None


def test_rows_come_only_for_pairs_both_trained():
    by_seed = {"single": [{"psnr": 30.0}], "uniform": [{"psnr": 31.0, "acc": 0.5}]}
    rows = paired_rows(
        by_seed,
        [("uniform", "single"), ("active", "uniform")],
        {"single": "single-task", "uniform": "uniform", "active": "active"},
        ["psnr", "acc"],
    )
    assert rows == [{"comparison": "uniform - single-task", "psnr": "+1.00 ± 0.00 (1/1)"}]
