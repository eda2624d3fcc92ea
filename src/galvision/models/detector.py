"""CenterNetDetector: boxes from a backbone's maps through a centre-point detection head.

A detection head is built as ``head(backbone)``, holds ``map_indices`` and ``output_stride``
and is called as ``head(maps, image)``, returning ``heatmap`` logits, ``size`` and ``offset``;
:class:`~galvision.heads.CenterNetHead` is the default.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from galvision.backbones.contract import DenseBackbone, require_backbone
from galvision.heads.boxes import decode

DetectionHeadFactory = Callable[[nn.Module], nn.Module]


class CenterNetDetector(nn.Module):
    """Display-space fields -> heatmap, sizes and offsets; :meth:`detect` gives the boxes.

    Args:
        backbone: the shared backbone.
        head: the detection head over its maps.
        max_detections: most boxes returned per field.
        score_threshold: lowest score of a returned box.
    """

    def __init__(
        self,
        backbone: DenseBackbone,
        head: nn.Module,
        max_detections: int = 10,
        score_threshold: float = 0.05,
    ) -> None:
        super().__init__()
        require_backbone(backbone, DenseBackbone, "CenterNetDetector")
        self.backbone = backbone
        self.head = head
        self.max_detections = max_detections
        self.score_threshold = score_threshold

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """Head outputs: heatmap logits, sizes and offsets."""
        return self.head(self.backbone.forward_maps(image, self.head.map_indices), image)

    def decode(self, outputs: dict[str, torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        """Boxes (xyxy pixels), scores and labels per field from head outputs."""
        return decode(
            outputs["heatmap"].sigmoid(),
            outputs["size"],
            outputs["offset"],
            self.head.output_stride,
            self.max_detections,
            self.score_threshold,
        )

    @staticmethod
    def field_scores(outputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Each field's lens score (B,): its highest heatmap peak, the best box's score."""
        return outputs["heatmap"].detach().flatten(1).amax(1).sigmoid()

    def detect(self, image: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        """Boxes, scores and labels of the lenses in display-space images (call in eval mode)."""
        return self.decode(self(image))
