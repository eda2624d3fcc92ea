"""LensDetectionTask: metrics, training on blobs, augmentation, bad input and predictions."""

import json
from functools import partial
from pathlib import Path
from unittest.mock import MagicMock

import numpy as np
import pytest
import torch
from lightning.pytorch import Trainer
from PIL import Image
from torch.utils.data import DataLoader

from galvision.backbones import Backbone
from galvision.callbacks import DetectionWriter
from galvision.data import keys
from galvision.data.intensity import to_display
from galvision.errors import ConfigError, DataError
from galvision.heads import CenterNetHead
from galvision.tasks import LensDetectionTask
from galvision.tasks.lens_detection import DetectionPrecisionRecall, detection_metrics
from galvision.transforms import Observe
from helpers.batches import prepare, simulated_batch
from helpers.detection import TRUTH, blob_batch
from helpers.training import csv_rows, losses_over_steps


def make_task(tiny_backbone_kwargs, **kwargs) -> LensDetectionTask:
    head = partial(CenterNetHead, num_maps=2)
    return LensDetectionTask(Backbone(**tiny_backbone_kwargs), head=head, **kwargs)


def prediction(boxes: list[list[float]], scores: list[float]) -> dict:
    return {
        "boxes": torch.tensor(boxes).reshape(-1, 4),
        "scores": torch.tensor(scores),
        "labels": torch.zeros(len(scores), dtype=torch.long),
    }


def truth(boxes: torch.Tensor) -> dict:
    return {"boxes": boxes, "labels": torch.zeros(len(boxes), dtype=torch.long)}


def test_perfect_predictions_give_map_precision_and_recall_of_one():
    metrics = detection_metrics()
    preds = [prediction(TRUTH[0].tolist(), [0.95, 0.92]), prediction([], [])]
    metrics.update(preds, [truth(b) for b in TRUTH])
    results = metrics.compute()
    assert results["map"] == 1 and results["map_50"] == 1
    for name in ("precision@0.5", "recall@0.5", "precision@0.9", "recall@0.9"):
        assert results[name] == 1


def test_missed_boxes_and_false_positives_lower_recall_and_precision():
    metric = DetectionPrecisionRecall()
    # One box found at 0.95, one only at 0.6; a confident false alarm in the empty field.
    preds = [
        prediction(TRUTH[0].tolist(), [0.95, 0.6]),
        prediction([[0.0, 0.0, 8.0, 8.0]], [0.93]),
    ]
    metric.update(preds, [truth(b) for b in TRUTH])
    results = metric.compute()
    assert results["recall@0.5"] == 1 and results["recall@0.9"] == 0.5
    assert results["precision@0.5"] == pytest.approx(2 / 3)
    assert results["precision@0.9"] == 0.5
    # A box overlapping its truth at IoU < 0.5 is not a match.
    shifted = DetectionPrecisionRecall()
    shifted.update([prediction([[9.0, 9.0, 19.0, 19.0]], [0.99])], [truth(TRUTH[0][:1])])
    assert shifted.compute()["precision@0.5"] == 0


def test_auroc_ranks_fields_by_their_score(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs)
    auroc = task.metrics["val_metrics"]
    outputs = {"field_score": torch.tensor([0.9, 0.2, 0.6, 0.7])}
    task.update_metrics(auroc, outputs, {keys.LABEL: torch.tensor([1, 0, 0, 1])})
    assert auroc.compute()["val/auroc"] == 1.0
    auroc.update(torch.tensor([0.1, 0.8]), torch.tensor([1, 0]))
    assert auroc.compute()["val/auroc"] == pytest.approx(5 / 9)


def test_training_step_gives_a_finite_loss_and_gradients(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs)
    outputs = task.compute(blob_batch(TRUTH))
    assert torch.isfinite(outputs["loss"])
    assert {"heatmap_loss", "size_loss", "offset_loss"} <= outputs.keys()
    outputs["loss"].backward()
    grads = [p.grad for p in task.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert task.backbone.model.blocks[0].attn.qkv.weight.grad.abs().sum() > 0


def test_a_few_steps_on_one_batch_lower_the_loss(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs)
    losses = losses_over_steps(task, blob_batch(TRUTH), steps=15)
    assert losses[-1] < 0.5 * losses[0]


def test_fields_without_boxes_train_on_negatives_only(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs)
    batch = blob_batch([torch.zeros(0, 4), torch.zeros(0, 4)])
    outputs = task.compute(batch)
    assert outputs["size_loss"] == 0 and outputs["offset_loss"] == 0
    assert outputs["heatmap_loss"] > 0
    outputs["loss"].backward()


def test_nan_pixels_name_the_field(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs)
    batch = blob_batch(TRUTH)
    batch[keys.IMAGE][1, 0, 3, 3] = float("nan")
    batch[keys.NAME] = ["fieldA", "fieldB"]
    with pytest.raises(DataError, match=r"field 1 of the batch \(fieldB\)"):
        task.compute(batch)


def test_training_augmentation_turns_images_and_boxes_together(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs)
    boxes = [torch.tensor([[3.0, 5.0, 9.0, 16.0]])] * 32
    image = torch.zeros(32, 3, 32, 32)
    image[..., 5:16, 3:9] = 1
    batch = prepare(task, {keys.BOXES: boxes, keys.IMAGE: image}, "train")
    seen = set()
    for field, field_boxes in zip(batch[keys.IMAGE], batch[keys.BOXES], strict=True):
        ys, xs = field[0].nonzero(as_tuple=True)
        bright = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        assert field_boxes[0].tolist() == [float(v) for v in bright]
        seen.add(tuple(bright))
    assert len(seen) > 1
    kept = prepare(task, {keys.IMAGE: image, keys.BOXES: boxes}, "val")
    assert torch.equal(kept[keys.IMAGE], image)


def test_clean_fields_are_blurred_and_noised_before_detection(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs)
    batch = simulated_batch(2)
    batch[keys.CLEAN] = torch.zeros(2, 3, 32, 32)
    batch[keys.CLEAN][:, :, 16, 16] = 50.0  # a point source
    batch[keys.BOXES], batch[keys.LABEL] = TRUTH, torch.tensor([1, 0])
    prepared = prepare(task, batch, "val")
    image = prepared[keys.IMAGE]
    assert torch.equal(image, Observe()(batch, "val")[keys.IMAGE])
    # The PSF spreads half the light to the neighbours; the sky adds noise everywhere.
    assert image[:, :, 16, 16].max() < to_display(torch.tensor(50.0))
    assert (image[:, :, 15, 16] > 5 * image[:, :, 2, 2].abs()).all()
    assert image[:, :, :8, :8].std() > 0
    assert torch.isfinite(task.compute(prepared)["loss"])


def test_setup_refuses_data_with_many_classes_or_the_wrong_size(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs)
    datamodule = MagicMock(num_bands=3, image_size=32, class_names=["no lens", "lens"])
    task._trainer = MagicMock(datamodule=datamodule)
    task.setup("fit")
    datamodule.class_names = ["lens", "ring", "spiral"]
    with pytest.raises(ConfigError, match="one kind of object"):
        task.setup("fit")
    datamodule.image_size = 64
    with pytest.raises(ConfigError, match="64×64"):
        task.setup("fit")


def test_validation_logs_detection_metrics(tiny_backbone_kwargs, tmp_path):
    task = make_task(tiny_backbone_kwargs)
    batches = [blob_batch(TRUTH), blob_batch([TRUTH[1], TRUTH[0]])]
    loader = DataLoader(batches, batch_size=None)  # the batches as they are
    trainer = Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, default_root_dir=tmp_path
    )
    (results,) = trainer.validate(task, dataloaders=loader, verbose=False)
    for name in ("map", "map_50", "mar_10", "precision@0.9", "recall@0.5", "auroc", "loss"):
        assert np.isfinite(results[f"val/{name}"])


def test_detect_and_predict_step_return_boxes_per_field(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs, max_detections=3, score_threshold=0.0).eval()
    batch = blob_batch(TRUTH) | {keys.NAME: ["a", "b"], keys.INDEX: torch.tensor([7, 8])}
    with torch.no_grad():
        detections = task.detect(batch[keys.IMAGE])
        predicted = task.predict_batch(batch)
    assert [len(d["boxes"]) for d in detections] == [3, 3]
    assert predicted[keys.NAME] == ["a", "b"]
    assert torch.equal(predicted["scores"][0], detections[0]["scores"])
    # A field's score is its best box's score: the highest heatmap peak.
    assert torch.allclose(
        predicted["field_score"], torch.stack([s[0] for s in predicted["scores"]])
    )


def test_detection_writer_writes_tables_and_capped_pictures(tmp_path: Path):
    writer = DetectionWriter(str(tmp_path), max_images=3)
    image = torch.rand(2, 3, 32, 32)
    batch = {keys.IMAGE: image, keys.BOXES: TRUTH, keys.NAME: ["f1", "f2"]}
    boxes = [torch.tensor([[4.0, 4.0, 14.0, 14.0], [0.0, 0.0, 6.0, 6.0]]), torch.zeros(0, 4)]
    pred = {
        "boxes": boxes,
        "scores": [torch.tensor([0.95, 0.6]), torch.zeros(0)],
        "field_score": torch.tensor([0.95, 0.01]),
        keys.NAME: ["f1", "f2"],
    }
    trainer = MagicMock(global_rank=0)
    for batch_idx in range(2):
        writer.write_on_batch_end(trainer, None, pred, None, batch, batch_idx)
    writer.on_predict_end(trainer, None)
    rows = csv_rows(tmp_path / "detections-rank0.csv")
    assert [r["name"] for r in rows] == ["f1", "f1", "f1-2", "f1-2"]
    assert [float(rows[0][c]) for c in ("x0", "y0", "x1", "y1", "score")] == [4, 4, 14, 14, 0.95]
    fields = json.loads((tmp_path / "detections-rank0.json").read_text())
    assert [f["name"] for f in fields] == ["f1", "f2", "f1-2", "f2-2"]
    assert fields[1] == {"name": "f2", "boxes": [], "scores": [], "field_score": 0.01}
    pictures = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pictures == ["f1-2_detections.png", "f1_detections.png", "f2_detections.png"]
    picture = np.asarray(Image.open(tmp_path / "f1_detections.png"))
    assert picture.shape == (256, 256, 3)
    zoom = 256 // 32
    assert tuple(picture[4 * zoom, 10 * zoom]) == (60, 255, 60)  # top edge of the 0.95 box
    assert tuple(picture[0, 3 * zoom]) == (255, 170, 0)  # top edge of the 0.6 box
    assert tuple(picture[16 * zoom, 22 * zoom]) == (0, 200, 255)  # top edge of a true box
    assert not list(tmp_path.glob(".*"))


@pytest.mark.parametrize(
    ("box", "message"),
    [([20.0, 4.0, 40.0, 14.0], "leaves the 32x32 image"), ([8.0, 8.0, 8.0, 14.0], "non-positive")],
)
def test_boxes_outside_the_field_or_empty_are_one_line(tiny_backbone_kwargs, box, message):
    task = make_task(tiny_backbone_kwargs)
    batch = blob_batch([torch.tensor([box]), torch.zeros(0, 4)])
    batch[keys.NAME] = ["userA", "userB"]
    with pytest.raises(DataError, match=rf"field userA of the batch: box 0 .*{message}"):
        task.compute(prepare(task, batch, "train"))
