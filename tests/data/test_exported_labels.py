"""Training on exported labels: rows checked by name, classes by name, `galvision fit` runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from galvision.cli import main
from galvision.data.datamodules import GalaxyDataModule
from galvision.data.exported_labels import ExportedLabelsDataModule
from galvision.data.row_tables import dataset_labels
from galvision.embeddings.catalogue import load_datamodule
from galvision.errors import ConfigError, DataError
from helpers.training import CONF, REPO, config_args

CLASSES = ["smooth", "featured"]
SPIRAL_CLASSES = 5  # classes from this index on in the morphology catalogue have disks


def tiny_survey() -> GalaxyDataModule:
    """The 24-galaxy morphology survey of the tiny configs."""
    return load_datamodule(CONF / "tiny_morphology.yaml")


def write_labels(path: Path, rows: list[tuple[int, str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "name", "label", "labeller", "labelled_at", "model_version"])
        writer.writerows(
            [(row, name, label, "ann", "2026-01-01T00:00:00Z", 1) for row, name, label in rows]
        )
    return path


def test_rows_get_their_csv_classes_and_a_stratified_validation(tmp_path: Path) -> None:
    labels = [(row, f"row{row}", CLASSES[row % 2]) for row in range(20)]
    data = ExportedLabelsDataModule(
        tiny_survey(), str(write_labels(tmp_path / "l.csv", labels)), CLASSES, val_fraction=0.2
    )
    data.prepare_data()
    data.setup("fit")
    train, val = data.datasets["train"], data.datasets["val"]
    assert (len(train), len(val)) == (16, 4)
    assert sorted(np.bincount(dataset_labels(val))) == [2, 2]
    sample = train[0]
    assert sample["label"] == int(train.rows[0]) % 2


def test_a_name_that_disagrees_is_refused_with_its_line(tmp_path: Path) -> None:
    labels = [(0, "row0", "smooth"), (1, "row7", "featured")]
    data = ExportedLabelsDataModule(
        tiny_survey(), str(write_labels(tmp_path / "l.csv", labels)), CLASSES
    )
    with pytest.raises(DataError, match=r"l\.csv:3: row 1 is 'row1' in the catalogue"):
        data.setup("fit")
    labels = [(0, "row0", "smooth"), (1, "row1", "ring")]
    data = ExportedLabelsDataModule(
        tiny_survey(), str(write_labels(tmp_path / "m.csv", labels)), CLASSES
    )
    with pytest.raises(DataError, match=r"m\.csv:3: label 'ring'"):
        data.setup("fit")


def test_the_test_catalogue_scores_whole_or_by_split(tmp_path: Path) -> None:
    survey = tiny_survey()
    survey.prepare_data()
    classes = [survey.class_names[0], survey.class_names[SPIRAL_CLASSES]]
    labels = write_labels(tmp_path / "l.csv", [(0, "row0", classes[0]), (1, "row1", classes[1])])

    def scored(split: str | list[str] | None) -> int:
        data = ExportedLabelsDataModule(tiny_survey(), str(labels), classes, tiny_survey(), split)
        data.setup("fit")
        return len(data.datasets["test"])

    survey.setup("test")
    truth = dataset_labels(survey.catalogue())
    in_test = dataset_labels(survey.datasets["test"])
    assert scored(None) == np.isin(truth, [0, SPIRAL_CLASSES]).sum()
    assert scored("test") == np.isin(in_test, [0, SPIRAL_CLASSES]).sum() < scored(None)
    assert scored(["train", "val", "test"]) == scored(None)
    assert scored(["train", "val"]) == scored(None) - scored("test")
    with pytest.raises(ConfigError, match=r"^data\.test_split='holdout': .* \['test', 'train'"):
        scored("holdout")


def test_fit_from_exported_labels(tmp_path: Path) -> None:
    survey = tiny_survey()
    survey.prepare_data()
    truth = dataset_labels(survey.catalogue())
    labels = [(row, f"row{row}", CLASSES[int(truth[row] >= SPIRAL_CLASSES)]) for row in range(24)]
    csv_path = write_labels(tmp_path / "labels.csv", labels)
    data = {
        "class_path": "galvision.data.exported_labels.ExportedLabelsDataModule",
        "init_args": {
            "source": str(CONF / "tiny_morphology.yaml"),
            "labels": str(csv_path),
            "classes": CLASSES,
            "batch_size": 4,
        },
    }
    main(
        [
            "fit",
            *config_args("classify"),
            "--data",
            json.dumps(data),
            "--model.init_args.num_classes",
            "2",
            "--model.init_args.regression_weight",
            "0",
            "--trainer.default_root_dir",
            str(tmp_path / "run"),
        ]
    )
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.parametrize(("task", "data"), [("classify", "labels"), ("classify_gz1", "labels_gz1")])
def test_shipped_label_data_configs_parse(task: str, data: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["fit", "--config", str(REPO / "tasks" / f"{task}.yaml"), "--data",
              str(REPO / "configs" / "data" / f"{data}.yaml"), "--print_config"])  # fmt: skip
    assert exit_.value.code == 0
    assert "ExportedLabelsDataModule" in capsys.readouterr().out
