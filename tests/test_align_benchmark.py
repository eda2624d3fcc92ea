"""`galvision benchmark align` on the tiny alignment config and a tiny GZ1-layout file."""

import numpy as np
import pytest

from galvision.benchmark.aligned_runs import parse_fractions, parse_variants
from galvision.benchmark.few_labels import label_budgets
from galvision.cli import main
from galvision.data.labelled import labelled_training
from galvision.errors import ConfigError
from helpers.catalogues import write_gz1
from helpers.training import CONF, csv_rows, task_config


def test_fractions_and_variants_are_checked():
    assert parse_fractions(["0.01", "1"]) == [0.01, 1.0]
    for bad in ("0", "1.5", "ten"):
        with pytest.raises(ConfigError, match=f"--fractions: '{bad}' is not a share"):
            parse_fractions([bad])
    assert parse_variants(["sdss"]) == ["tri-modal", "image-text", "sdss"]
    with pytest.raises(ConfigError, match=r"--variants: \['nope'\] not among"):
        parse_variants(["nope"])


def test_label_budgets_are_the_positions_the_datamodules_keep():
    indices = np.array([3, 5, 8, 9, 12, 20, 21, 30])
    labels = np.array([0, 1, 0, 1, 0, 1, 0, 2])
    budgets = label_budgets(indices, labels, ["a", "b", "c"], [0.5, 1.0], seed=4)
    by_index = np.full(31, -1)
    by_index[indices] = labels
    kept = labelled_training(indices, by_index, ["a", "b", "c"], 4, label_fraction=0.5)
    np.testing.assert_array_equal(indices[budgets[0.5]], kept)
    np.testing.assert_array_equal(budgets[1.0], np.arange(len(indices)))


def test_benchmark_writes_every_table_and_picture(tmp_path, capsys):
    real = write_gz1(tmp_path / "gz1.h5")
    out = tmp_path / "out"
    arguments = [
        "benchmark", "align", "--config", *map(str, task_config("align")),
        "--variants", "tri-modal", "image-text", "--steps", "2", "--fractions", "0.5", "1",
        "--classify-config", *map(str, task_config("classify")),
        "--classify-data", str(CONF / "tiny_morphology.yaml"), "--classify-steps", "2",
        "--real", str(real), "--real-config", *map(str, task_config("classify_gz1")),
        "--real-steps", "2", "--output", str(out),
    ]  # fmt: skip
    main(arguments)
    zero_shot = csv_rows(out / "align_zero_shot.csv")
    assert [row["variant"] for row in zero_shot] == ["tri-modal", "image-text"]
    gz1 = csv_rows(out / "align_zero_shot_gz1.csv")
    assert [row["from"] for row in gz1[:4]] == [
        "GZ1 class words", "simulated text", "simulated symbol", "simulated both",
    ]  # fmt: skip
    few = csv_rows(out / "align_few_labels.csv")
    methods = {row["method"] for row in few}
    assert {"(a) ClassificationTask, fine-tuned", "(c) tri-modal, linear probe"} <= methods
    assert {row["labels"] for row in few} == {"50%", "100%", "0"}
    assert all(0 <= float(row["accuracy"]) <= 1 for row in few)
    assert len(csv_rows(out / "align_few_labels_gz1.csv")) == len(few)
    retrieval = csv_rows(out / "align_retrieval.csv")
    assert all(0 <= float(row["mean"]) <= 1 for row in retrieval)
    assert (out / "align_symbols.png").stat().st_size > 0
    assert (out / "align_query.png").stat().st_size > 0
    assert [row["rank"] for row in csv_rows(out / "align_query.csv")] == [
        str(r) for r in range(1, 9)
    ]
    assert "Few labels: simulated classes" in capsys.readouterr().out
