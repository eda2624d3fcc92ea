"""ReconstructionTask: fill in the masked pixels of observed galaxy images (inpainting)."""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn
from torchmetrics import MetricCollection

from galvision.data import keys
from galvision.data.intensity import DATA_RANGE
from galvision.heads import PixelDecoder
from galvision.metrics import restoration_metrics
from galvision.models.restoration import (
    DenseHeadFactory,
    InpaintingNetwork,
    build_dense_head,
    composite,
)
from galvision.tasks.base import GalaxyTask
from galvision.transforms import BatchTransform, MaskPixels, Observe

MASK_REMEDY = "add galvision.transforms.MaskPixels to data.transforms"


class ReconstructionTask(GalaxyTask):
    """Masked image reconstruction: observed image with missing pixels -> the full image.

    Batches hold the masked ``image``, its ``mask`` and the whole ``target`` image (made by
    ``galvision.transforms.MaskPixels``). The output (the composite) is the prediction in
    masked pixels and the input elsewhere. Metrics are MSE, PSNR and SSIM of the composite
    over the whole image, both sides clipped to ``[0, DATA_RANGE]``.

    Args:
        backbone: the shared foundation ViT.
        head: dense head factory, called as ``head(backbone, 1)`` (the mask is the extra
            plane); default :class:`~galvision.heads.PixelDecoder`.
        loss_on: ``masked`` pixels only, or ``all`` pixels of the prediction.
        loss: ``l1`` or ``mse``.
        **kwargs: transforms, optimizer, lr_scheduler, layer_decay, freeze_backbone (see
            GalaxyTask).
    """

    monitor = ("val/psnr", "max")
    name = "reconstruct"

    def __init__(
        self,
        backbone: nn.Module,
        head: DenseHeadFactory = PixelDecoder,
        loss_on: Literal["masked", "all"] = "masked",
        loss: Literal["l1", "mse"] = "l1",
        **kwargs: Any,
    ) -> None:
        super().__init__(backbone, **kwargs)
        decoder = build_dense_head(head, backbone, 1, "ReconstructionTask")
        self.network = InpaintingNetwork(backbone, decoder)
        self.add_metrics(restoration_metrics(), stages=("val", "test"))

    @staticmethod
    def default_transforms() -> list[BatchTransform]:
        """The survey observation, then masks of 8-pixel patches."""
        return [Observe(), MaskPixels()]

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The composite: prediction in masked pixels, the input image elsewhere."""
        return self.network(image, mask)

    @staticmethod
    def inputs(batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch's masked image and mask."""
        mask = keys.require(batch, keys.MASK, "ReconstructionTask", MASK_REMEDY)
        return keys.require(batch, keys.IMAGE, "ReconstructionTask"), mask

    def compute(self, batch: dict) -> dict[str, Any]:
        """Reconstruct the batch and measure the loss against the full image."""
        image, mask = self.inputs(batch)
        prediction = self.network.decode(image, mask)
        target = keys.require(batch, keys.TARGET, "ReconstructionTask", MASK_REMEDY)
        loss = self.pixel_loss(prediction, target, mask)
        return {"loss": loss, "restored": composite(prediction, image, mask)}

    def pixel_loss(
        self, prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Mean pixel loss over masked pixels (``loss_on="masked"``) or over all pixels."""
        error = prediction - target
        error = error.abs() if self.hparams.loss == "l1" else error.square()
        if self.hparams.loss_on == "all":
            return error.mean()
        weight = mask.expand_as(error)
        return (error * weight).sum() / weight.sum().clamp(min=1)

    def update_metrics(self, metrics: MetricCollection, outputs: dict, batch: dict) -> None:
        """Whole-image metrics of the composite, in display space clipped to the data range."""
        metrics.update(
            outputs["restored"].clamp(0, DATA_RANGE), batch[keys.TARGET].clamp(0, DATA_RANGE)
        )

    def predict_batch(self, batch: dict) -> dict[str, Any]:
        """Composite display-space images with the masked inputs, masks and names, for writers."""
        image, mask = self.inputs(batch)
        return {
            "restored": self(image, mask),
            keys.IMAGE: image,
            keys.MASK: mask,
            keys.NAME: batch.get(keys.NAME),
            keys.HEADER: batch.get(keys.HEADER),
            keys.SOURCE: batch.get(keys.SOURCE),
        }
