"""The classification writer: CSV tables per rank from predicted probabilities and parameters."""

from pathlib import Path
from unittest.mock import MagicMock

import pytest
import torch

from galvision.callbacks import ClassificationWriter
from galvision.cli import main
from galvision.data.keys import INDEX, NAME
from helpers.training import config_args, csv_rows

CLASSES = ["elliptical", "spiral", "merger"]


def prediction(probabilities: list[list[float]], names: list[str] | None, **extra) -> dict:
    values = torch.tensor(probabilities)
    return {
        "probabilities": values,
        "prediction": values.argmax(-1),
        "class_names": CLASSES,
        NAME: names,
        **extra,
    }


def write(writer: ClassificationWriter, output: dict, batch: dict | None, rank: int) -> None:
    writer.write_on_batch_end(MagicMock(global_rank=rank), None, output, None, batch, 0, 0)


def test_rows_hold_names_classes_probabilities_and_parameters(tmp_path: Path) -> None:
    writer = ClassificationWriter(str(tmp_path))
    trainer = MagicMock(global_rank=1)
    writer.on_predict_start(trainer, None)
    parameters = {
        "parameters": torch.tensor([[1.5, 0.8], [2.25, 0.5]]),
        "parameter_names": ["hlr", "q"],
    }
    first = prediction([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], ["ngc1", "ngc2"], **parameters)
    write(writer, first, {NAME: ["ngc1", "ngc2"]}, rank=1)
    second = prediction(
        [[0.25, 0.5, 0.25]],
        None,
        parameters=torch.tensor([[3.0, 0.25]]),
        parameter_names=["hlr", "q"],
    )
    write(writer, second, {INDEX: torch.tensor([7])}, rank=1)
    assert not list(tmp_path.iterdir())  # nothing is published before prediction ends
    writer.on_predict_end(trainer, None)
    assert [p.name for p in tmp_path.iterdir()] == ["classifications-rank1.csv"]
    rows = csv_rows(tmp_path / "classifications-rank1.csv")
    assert list(rows[0]) == [
        "name",
        "prediction",
        "p_elliptical",
        "p_spiral",
        "p_merger",
        "hlr",
        "q",
    ]
    assert [(r["name"], r["prediction"]) for r in rows] == [
        ("ngc1", "elliptical"),
        ("ngc2", "merger"),
        ("galaxy7", "spiral"),
    ]
    assert [float(rows[1][f"p_{c}"]) for c in CLASSES] == pytest.approx([0.1, 0.3, 0.6])
    assert [(float(r["hlr"]), float(r["q"])) for r in rows] == [
        (1.5, 0.8),
        (2.25, 0.5),
        (3.0, 0.25),
    ]


def test_epoch_interval_writes_every_batch_without_parameters(tmp_path: Path) -> None:
    writer = ClassificationWriter(str(tmp_path), write_interval="epoch")
    trainer = MagicMock(global_rank=0)
    predictions = [prediction([[0.9, 0.05, 0.05]], None), prediction([[0.0, 0.0, 1.0]], None)]
    writer.write_on_epoch_end(trainer, None, predictions, [])
    writer.on_predict_end(trainer, None)
    rows = csv_rows(tmp_path / "classifications-rank0.csv")
    assert list(rows[0]) == ["name", "prediction", *(f"p_{c}" for c in CLASSES)]
    assert [(r["name"], r["prediction"]) for r in rows] == [
        ("rank0-batch0-0", "elliptical"),
        ("rank0-batch1-0", "merger"),
    ]


def test_predict_writes_the_test_galaxies_of_a_trained_classifier(tmp_path: Path) -> None:
    base = [*config_args("classify"), "--trainer.max_steps", "2"]
    main(["fit", *base, "--trainer.default_root_dir", str(tmp_path / "fit")])
    main(
        [
            "predict",
            *base,
            "--trainer.default_root_dir",
            str(tmp_path / "predict"),
            "--ckpt_path",
            str(tmp_path / "fit" / "checkpoints" / "last.ckpt"),
            "--trainer.callbacks+=galvision.callbacks.ClassificationWriter",
            f"--trainer.callbacks.output_dir={tmp_path / 'table'}",
        ]
    )
    rows = csv_rows(tmp_path / "table" / "classifications-rank0.csv")
    classes = [c.removeprefix("p_") for c in rows[0] if c.startswith("p_")]
    assert len(rows) == 8 and len(classes) == 10
    assert len({r["name"] for r in rows}) == 8
    for row in rows:
        probabilities = [float(row[f"p_{c}"]) for c in classes]
        assert sum(probabilities) == pytest.approx(1, abs=1e-4)
        assert row["prediction"] == classes[probabilities.index(max(probabilities))]
        assert float(row["hlr"]) > 0
