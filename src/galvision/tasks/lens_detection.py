"""LensDetectionTask: boxes around strong gravitational lenses in survey fields (CenterNet)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import BinaryAUROC
from torchmetrics.detection import MeanAveragePrecision

from galvision.data import keys
from galvision.data.boxes import check_boxes
from galvision.errors import ConfigError, DataError
from galvision.heads import CenterNetHead
from galvision.heads.boxes import count_matches, encode_targets
from galvision.heads.centernet import centre_l1_loss, heatmap_focal_loss
from galvision.models.detector import CenterNetDetector, DetectionHeadFactory
from galvision.tasks.base import GalaxyTask
from galvision.transforms import BatchTransform, Observe, RandomDihedral

EVALUATION_SCORES = (0.5, 0.9)  # score thresholds of the logged precision and recall
DETECTION_KEYS = ("map", "map_50", "mar_10")  # scalars logged from MeanAveragePrecision
LOSS_TERMS = ("heatmap_loss", "size_loss", "offset_loss")


class DetectionPrecisionRecall(Metric):
    """Precision and recall of boxes scoring at least each threshold, matched at IoU ≥ 0.5.

    Predictions are matched greedily, best score first, to unmatched truth boxes (one class).
    Counts are summed over batches and processes; an empty denominator gives 0.
    """

    full_state_update = False
    higher_is_better = True

    def __init__(
        self, score_thresholds: tuple[float, ...] = EVALUATION_SCORES, iou_threshold: float = 0.5
    ) -> None:
        super().__init__()
        self.score_thresholds = tuple(score_thresholds)
        self.iou_threshold = iou_threshold
        zeros = torch.zeros(len(self.score_thresholds), dtype=torch.long)
        self.add_state("true_positives", zeros.clone(), dist_reduce_fx="sum")
        self.add_state("predicted", zeros.clone(), dist_reduce_fx="sum")
        self.add_state("actual", torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")

    @staticmethod
    def default_transforms() -> list[BatchTransform]:
        """The survey observation, then fields and boxes turned in training."""
        return [Observe(), RandomDihedral()]

    def update(self, preds: list[dict], target: list[dict]) -> None:
        """Count matches of per-image predictions (boxes, scores) to truth (boxes)."""
        for prediction, truth in zip(preds, target, strict=True):
            self.actual += len(truth["boxes"])
            for i, threshold in enumerate(self.score_thresholds):
                keep = prediction["scores"] >= threshold
                self.predicted[i] += int(keep.sum())
                self.true_positives[i] += count_matches(
                    prediction["boxes"][keep],
                    prediction["scores"][keep],
                    truth["boxes"],
                    self.iou_threshold,
                )

    def compute(self) -> dict[str, torch.Tensor]:
        """``precision@<t>`` and ``recall@<t>`` for every score threshold ``t``."""
        precision = self.true_positives / self.predicted.clamp_min(1)
        recall = self.true_positives / self.actual.clamp_min(1)
        results = {}
        for i, threshold in enumerate(self.score_thresholds):
            results[f"precision@{threshold}"] = precision[i]
            results[f"recall@{threshold}"] = recall[i]
        return results


def detection_metrics() -> MetricCollection:
    """COCO mAP (pycocotools) with precision and recall at the evaluation score thresholds."""
    return MetricCollection(
        {
            "map": MeanAveragePrecision(box_format="xyxy", iou_type="bbox", backend="pycocotools"),
            "precision_recall": DetectionPrecisionRecall(),
        }
    )


class LensDetectionTask(GalaxyTask):
    """Strong-lens detection: a CenterNet head over the ViT's maps finds one box per lens.

    Losses are CenterNet's: focal loss on the centre heatmap, L1 on size and offset at the
    centres. Validation and test log COCO ``map`` (IoU 0.5:0.95), ``map_50`` and ``mar_10``,
    ``precision@t`` and ``recall@t`` for boxes scoring at least 0.5 and 0.9, and the
    lens/non-lens ``auroc`` of each field's score: its highest heatmap peak, which is its best
    box's score before any score threshold.

    Batches hold the observed ``image`` and the truth ``boxes`` (for simulated fields, made
    by ``galvision.transforms.Observe``; ``RandomDihedral`` turns fields and boxes together).

    Args:
        backbone: the shared foundation ViT.
        head: detection head factory, called as ``head(backbone)``; default
            :class:`~galvision.heads.CenterNetHead` (``init_args``: ``num_maps``,
            ``output_stride``, ``head_width``).
        score_threshold: lowest score of a returned box (low, so mAP sees the whole curve).
        max_detections: most boxes returned per field.
        size_weight: weight of the size L1 loss (sizes are in heatmap cells).
        offset_weight: weight of the offset L1 loss.
        **kwargs: transforms, optimizer, lr_scheduler, layer_decay, freeze_backbone (see
            GalaxyTask).
    """

    monitor = ("val/map_50", "max")
    name = "lens"
    loss_terms: tuple[str, ...] = LOSS_TERMS  # parts of the loss logged beside it

    def __init__(
        self,
        backbone: nn.Module,
        head: DetectionHeadFactory = CenterNetHead,
        score_threshold: float = 0.05,
        max_detections: int = 10,
        size_weight: float = 0.1,
        offset_weight: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(backbone, **kwargs)
        self.network = self.build_network(backbone, head)
        self.add_metrics(MetricCollection({"auroc": BinaryAUROC()}), stages=("val", "test"))
        # MeanAveragePrecision returns a dict: computed and logged by name at each epoch end.
        self.detection = nn.ModuleDict({stage: detection_metrics() for stage in ("val", "test")})

    def build_network(self, backbone: nn.Module, head: DetectionHeadFactory) -> nn.Module:
        """The detector: the backbone with the head built over it."""
        return CenterNetDetector(
            backbone, head(backbone), self.hparams.max_detections, self.hparams.score_threshold
        )

    # -- data ---------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        """Check bands and size against the datamodule, and that its labels are lens or not."""
        super().setup(stage)
        names = getattr(self.datamodule, "class_names", None)
        # One object class, "lens", or the field labels "no lens" and "lens".
        if names is not None and len(names) > 2:
            raise ConfigError(
                f"data has classes {list(names)} but LensDetectionTask finds one kind of "
                "object (lens) and labels fields lens / no lens"
            )

    # -- model --------------------------------------------------------------------------------
    def forward(self, image: torch.Tensor) -> dict[str, Any]:
        """Network outputs of display-space images (B, C, H, W)."""
        return self.network(image)

    def decode(self, outputs: dict[str, Any]) -> list[dict[str, torch.Tensor]]:
        """Boxes, scores and labels per field from network outputs."""
        return self.network.decode(outputs)

    def field_scores(self, outputs: dict[str, Any]) -> torch.Tensor:
        """Each field's lens score (B,): its best box's score."""
        return self.network.field_scores(outputs)

    def detect(self, image: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        """Boxes (xyxy pixels), scores and labels of the lenses in display-space images."""
        return self.decode(self(image))

    def compute(self, batch: dict) -> dict[str, Any]:
        """Head outputs, each field's score and the CenterNet loss against the batch's boxes."""
        outputs = self(checked_image(batch))
        stride = self.network.head.output_stride
        targets = encode_targets(checked_boxes(batch), outputs["heatmap"].shape[-2:], stride)
        losses = {
            "heatmap_loss": heatmap_focal_loss(outputs["heatmap"], targets.heatmap),
            "size_loss": centre_l1_loss(outputs["size"], targets.index, targets.size, targets.mask),
            "offset_loss": centre_l1_loss(
                outputs["offset"], targets.index, targets.offset, targets.mask
            ),
        }
        loss = (
            losses["heatmap_loss"]
            + self.hparams.size_weight * losses["size_loss"]
            + self.hparams.offset_weight * losses["offset_loss"]
        )
        return {"loss": loss, **losses, **outputs, "field_score": self.field_scores(outputs)}

    def update_metrics(self, metrics: MetricCollection, outputs: dict, batch: dict) -> None:
        """Lens/non-lens AUROC of the field scores."""
        metrics.update(outputs["field_score"], _field_labels(batch))

    # -- evaluation outputs -------------------------------------------------------------------
    def shared_step(self, batch: dict, stage: str) -> dict[str, Any]:
        """The template's step, plus the loss terms and the box metrics."""
        outputs = super().shared_step(batch, stage)
        self.log_dict(
            {f"{stage}/{name}": outputs[name] for name in self.loss_terms if name in outputs},
            sync_dist=True,
            on_step=False,
            on_epoch=True,
            batch_size=len(batch[keys.IMAGE]),
        )
        if stage in self.detection:
            with torch.no_grad():
                truth = [
                    {"boxes": b, "labels": torch.zeros(len(b), dtype=torch.long, device=b.device)}
                    for b in truth_boxes(batch)
                ]
                self.detection[stage].update(self.decode(outputs), truth)
        return outputs

    def log_detection(self, stage: str) -> None:
        """Log mAP, mAR@10, precision and recall of the stage's boxes as ``<stage>/<name>``."""
        results = self.detection[stage].compute()
        self.detection[stage].reset()
        wanted = {name: value for name, value in results.items() if name in DETECTION_KEYS}
        wanted |= {n: v for n, v in results.items() if n.startswith(("precision@", "recall@"))}
        self.log_dict({f"{stage}/{name}": value.float() for name, value in wanted.items()})

    def on_validation_epoch_end(self) -> None:
        self.log_detection("val")

    def on_test_epoch_end(self) -> None:
        self.log_detection("test")

    def predict_batch(self, batch: dict) -> dict[str, Any]:
        """Boxes and scores per field, each field's score, the images, names and indices."""
        outputs = self(checked_image(batch))
        detections = self.decode(outputs)
        return {
            "boxes": [d["boxes"] for d in detections],
            "scores": [d["scores"] for d in detections],
            "field_score": self.field_scores(outputs),
            keys.IMAGE: batch[keys.IMAGE],
            keys.NAME: batch.get(keys.NAME),
            keys.SOURCE: batch.get(keys.SOURCE),
            keys.INDEX: batch.get(keys.INDEX),
        }


def truth_boxes(batch: dict) -> list[torch.Tensor]:
    """The batch's truth boxes, one (n_i, 4) tensor per field."""
    return keys.require(batch, keys.BOXES, "LensDetectionTask")


def checked_boxes(batch: dict) -> list[torch.Tensor]:
    """The batch's truth boxes, refused unless every box lies inside its field."""
    boxes = truth_boxes(batch)
    size, names = batch[keys.IMAGE].shape[-1], batch.get(keys.NAME)
    for i, field_boxes in enumerate(boxes):
        check_boxes(field_boxes, size, f"field {names[i] if names else i} of the batch")
    return boxes


def _field_labels(batch: dict) -> torch.Tensor:
    """LABEL when the batch has it, else whether each field has a box."""
    if keys.LABEL in batch:
        return batch[keys.LABEL].long()
    counts = [len(b) for b in truth_boxes(batch)]
    return torch.tensor(counts, device=batch[keys.IMAGE].device).clamp_max(1)


def checked_image(batch: dict) -> torch.Tensor:
    """The batch's IMAGE, refused when a field holds NaN or infinite pixels."""
    image = keys.require(batch, keys.IMAGE, "LensDetectionTask")
    bad = (~image.isfinite()).flatten(1).any(1)
    if bad.any():
        i = int(bad.nonzero()[0])
        names = batch.get(keys.NAME)
        index = batch.get(keys.INDEX)
        field = names[i] if names else f"index {int(index[i])}" if index is not None else ""
        raise DataError(f"field {i} of the batch ({field or 'unnamed'}) has NaN or inf pixels")
    return image
