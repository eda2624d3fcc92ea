"""The torchvision Faster R-CNN baseline inside the lens task, and `galvision benchmark lens`."""

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from torchmetrics.detection import MeanAveragePrecision
from torchmetrics.functional.classification import binary_auroc

from galvision.baselines.faster_rcnn import TORCHVISION_LOSSES, FasterRCNNTask
from galvision.cli import main
from galvision.errors import ConfigError
from helpers.detection import TRUTH, blob_batch
from helpers.training import csv_rows, losses_over_steps, task_config


@pytest.fixture
def task() -> FasterRCNNTask:
    return FasterRCNNTask(
        img_size=32, max_detections=5, optimizer=lambda p: torch.optim.AdamW(p, lr=1e-4)
    )


def test_training_gives_torchvision_losses_and_learns_a_fixed_batch(task):
    batch = blob_batch(TRUTH)
    outputs = task.compute(batch)
    assert set(TORCHVISION_LOSSES) <= set(outputs)
    assert torch.isfinite(outputs["loss"])
    losses = losses_over_steps(task, batch, steps=8)
    assert np.mean(losses[-2:]) < 0.8 * np.mean(losses[:2])


def test_evaluation_gives_boxes_and_field_scores_but_no_loss(task):
    task.eval()
    outputs = task.compute(blob_batch(TRUTH))
    assert outputs["loss"] is None
    assert len(outputs["detections"]) == 2 and outputs["field_score"].shape == (2,)
    assert ((outputs["field_score"] >= 0) & (outputs["field_score"] <= 1)).all()
    for found in task.decode(outputs):
        assert found["boxes"].shape[-1] == 4 and len(found["boxes"]) <= 5
        assert (found["labels"] == 0).all()  # the lens class of the truth, not torchvision's 1


def test_unknown_architecture_is_one_line():
    with pytest.raises(ConfigError, match=r"model\.architecture='yolo'"):
        FasterRCNNTask(architecture="yolo")


def write_hst(path: Path, count: int) -> Path:
    y, x = np.mgrid[:60, :60] - 29.5
    with h5py.File(path, "w") as file:
        for row in range(count):
            file[f"image/{row:03d}"] = np.exp(-(x**2 + y**2) / (2 * (4.0 + row) ** 2))
        file["pixel_scale"] = np.full(count, 0.05)
        file["name"] = np.array([f"hst{row}".encode() for row in range(count)])
    return path


def test_lens_benchmark_compares_three_detectors_and_scores_real_fields(tiny_mae, tmp_path):
    out = tmp_path / "out"
    arguments = [
        "benchmark", "lens", "--config", *map(str, task_config("lens")),
        "--pretrained", str(tiny_mae),
        "--steps", "2", "--output", str(out),
        "--real-lenses", str(write_hst(tmp_path / "lenses.h5", 3)),
        "--non-lenses", str(write_hst(tmp_path / "galaxies.h5", 2)),
    ]  # fmt: skip
    main(arguments)
    rows = csv_rows(out / "lens.csv")
    assert [r["method"] for r in rows] == [
        "torchvision Faster R-CNN (ResNet-18 FPN)",
        "galvision ViT + CenterNet",
        "galvision ViT + CenterNet",
    ]
    # The table reports what each run measured on its test set.
    for row, key in zip(rows, ("faster-rcnn", "vit", "mae"), strict=True):
        measured = json.loads((out / "lens" / key / "result.json").read_text())["metrics"]
        for name in ("map_50", "auroc"):
            assert float(row[name]) == pytest.approx(measured[f"test/{name}"], abs=1e-3)
    scores = csv_rows(out / "lens_real.csv")
    assert [r["kind"] for r in scores] == ["lens"] * 3 + ["non-lens"] * 2
    auroc = binary_auroc(
        torch.tensor([float(r["score"]) for r in scores]), torch.tensor([1, 1, 1, 0, 0])
    )
    report = (out / "lens.md").read_text()
    assert f"lens / non-lens AUROC of the field scores: {float(auroc):.3f}" in report
    assert (out / "lens_real.png").stat().st_size > 5_000


def test_torchvision_lens_class_is_scored_as_the_truth_class(task):
    box = torch.tensor([[4.0, 4.0, 14.0, 14.0]])
    found = {"boxes": box, "scores": torch.tensor([0.95]), "labels": torch.tensor([1])}
    decoded = task.decode({"detections": [found]})
    assert decoded[0]["labels"].tolist() == [0]
    metric = MeanAveragePrecision(box_format="xyxy", iou_type="bbox")
    metric.update(decoded, [{"boxes": box, "labels": torch.tensor([0])}])
    assert float(metric.compute()["map_50"]) == pytest.approx(1.0)
