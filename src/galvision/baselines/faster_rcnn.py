"""Faster R-CNN from torchvision, trained through the lens task's data, schedule and metrics."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torchvision.models import detection
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone

from galvision.backbones.stamp_input import StampInput
from galvision.errors import ConfigError
from galvision.tasks.lens_detection import LensDetectionTask, checked_boxes, checked_image

# torchvision constructors, or "<resnet>_fpn": Faster R-CNN over that torchvision ResNet + FPN.
ARCHITECTURES = ("resnet18_fpn", "resnet34_fpn", "fasterrcnn_resnet50_fpn")
# Lens boxes span ~8-40 pixels in 128-pixel fields; torchvision's defaults (32-512) are for
# photographs. One size per FPN level, as torchvision's FPN models expect.
ANCHOR_SIZES = ((8,), (16,), (32,), (64,), (128,))
ASPECT_RATIOS = ((0.5, 1.0, 2.0),) * len(ANCHOR_SIZES)


class TorchvisionDetector(StampInput, nn.Module):
    """A torchvision Faster R-CNN for fields of ``in_chans`` bands, ``img_size`` pixels a side.

    No pretrained weights (none fit survey bands), fields kept at their own size (no resizing),
    display-space pixels taken as they are (mean 0, deviation 1), small anchors.
    """

    def __init__(
        self,
        architecture: str = "resnet18_fpn",
        in_chans: int = 3,
        img_size: int = 128,
        max_detections: int = 10,
        score_threshold: float = 0.05,
    ) -> None:
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ConfigError(f"model.architecture={architecture!r}; choose from {ARCHITECTURES}")
        self.in_chans, self.img_size = in_chans, img_size
        settings = dict(
            num_classes=2,  # background and lens
            min_size=img_size,
            max_size=img_size,
            image_mean=[0.0] * in_chans,
            image_std=[1.0] * in_chans,
            rpn_anchor_generator=AnchorGenerator(ANCHOR_SIZES, ASPECT_RATIOS),
            box_detections_per_img=max_detections,
            box_score_thresh=score_threshold,
            # Fields hold a few objects, not a photograph's dozens: far fewer proposals and
            # sampled regions keep RoIAlign and the box head (most of the cost) affordable.
            rpn_pre_nms_top_n_train=600,
            rpn_post_nms_top_n_train=300,
            rpn_pre_nms_top_n_test=300,
            rpn_post_nms_top_n_test=100,
            rpn_batch_size_per_image=128,
            box_batch_size_per_image=64,
        )
        if architecture.endswith("_fpn") and not architecture.startswith("fasterrcnn"):
            backbone = resnet_fpn_backbone(
                backbone_name=architecture.removesuffix("_fpn"), weights=None, trainable_layers=5
            )
            self.model = detection.FasterRCNN(backbone, **settings)
        else:
            self.model = getattr(detection, architecture)(
                weights=None, weights_backbone=None, **settings
            )
        if in_chans != 3:
            stem = self.model.backbone.body.conv1
            self.model.backbone.body.conv1 = nn.Conv2d(
                in_chans, stem.out_channels, stem.kernel_size, stem.stride, stem.padding, bias=False
            )

    def forward(
        self, image: torch.Tensor, boxes: list[torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor] | list[dict[str, torch.Tensor]]:
        """Training losses when ``boxes`` are given, else detections (boxes, scores, labels)."""
        self.check_input(image)
        if boxes is None:
            return self.model(list(image))
        targets = [
            {"boxes": b, "labels": torch.ones(len(b), dtype=torch.int64, device=b.device)}
            for b in boxes
        ]
        return self.model(list(image), targets)


TORCHVISION_LOSSES = ("loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg")


class FasterRCNNTask(LensDetectionTask):
    """The lens task with torchvision's Faster R-CNN in place of the ViT and CenterNet head.

    Everything but the network is the lens task's: data and transforms, optimizer and
    schedule, mAP / AUROC / precision and recall, prediction outputs. A field's score is its
    best box's score (0 without boxes). torchvision computes losses only in training mode, so
    validation and test log detection metrics but no loss.

    Args:
        architecture: ``resnet18_fpn`` (light enough for CPUs), ``resnet34_fpn`` or torchvision's
            ``fasterrcnn_resnet50_fpn``.
        in_chans: bands of the fields.
        img_size: side of the fields in pixels.
        score_threshold: lowest score of a returned box.
        max_detections: most boxes returned per field.
        **kwargs: transforms, optimizer, lr_scheduler, freeze_backbone (see GalaxyTask).
    """

    loss_terms = TORCHVISION_LOSSES

    def __init__(
        self,
        architecture: str = "resnet18_fpn",
        in_chans: int = 3,
        img_size: int = 128,
        score_threshold: float = 0.05,
        max_detections: int = 10,
        **kwargs: Any,
    ) -> None:
        detector = TorchvisionDetector(
            architecture, in_chans, img_size, max_detections, score_threshold
        )
        super().__init__(
            detector, score_threshold=score_threshold, max_detections=max_detections, **kwargs
        )

    def build_network(self, backbone: nn.Module, head: Any) -> nn.Module:
        """No head: the torchvision detector is the whole network."""
        return backbone

    @property
    def backbone(self) -> nn.Module:
        """The whole detector, trained as one backbone."""
        return self.network

    def forward(self, image: torch.Tensor) -> dict[str, Any]:
        """Detections of display-space images, as ``{"detections": [...]}``."""
        return {"detections": self.network(image)}

    def decode(self, outputs: dict[str, Any]) -> list[dict[str, torch.Tensor]]:
        """Boxes, scores and labels per field, lens as class 0 like the truth it is scored on."""
        # torchvision reserves class 0 for the background, so its lenses are class 1.
        return [found | {"labels": found["labels"] - 1} for found in outputs["detections"]]

    def field_scores(self, outputs: dict[str, Any]) -> torch.Tensor:
        """Each field's best box score, 0 where no box was found."""
        return torch.stack(
            [
                d["scores"].max() if len(d["scores"]) else d["scores"].new_zeros(())
                for d in outputs["detections"]
            ]
        )

    def compute(self, batch: dict) -> dict[str, Any]:
        """torchvision's losses in training; detections and field scores otherwise."""
        image = checked_image(batch)
        if self.training:
            losses = self.network(image, checked_boxes(batch))
            return {"loss": sum(losses.values()), **losses}
        outputs = self(image)
        return {"loss": None, **outputs, "field_score": self.field_scores(outputs)}
