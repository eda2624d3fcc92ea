"""ReconstructionTask: fill in the masked pixels of observed galaxy images (inpainting).

The backbone sees the image with its masked pixels set to 0 and the mask itself goes to the
PixelDecoder's stem as one extra plane. Feeding the mask to the backbone instead would change
its ``in_chans`` to bands + 1, so the patch embedding of MAE-pretrained (or any other galvision)
weights would no longer fit. A zero is also a plausible sky value, so the decoder, which writes
the pixels, needs the mask at full resolution to know which zeros are missing data.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torchmetrics import MetricCollection

from galvision.backbones import Backbone
from galvision.data import keys
from galvision.data.degrade import Observation, observe_batch
from galvision.data.intensity import DATA_RANGE
from galvision.data.masking import MaskGenerator
from galvision.errors import DataError
from galvision.heads import PixelDecoder
from galvision.metrics import restoration_metrics
from galvision.tasks.base import GalaxyTask


class ReconstructionTask(GalaxyTask):
    """Masked image reconstruction: observed image with missing pixels -> the full image.

    The target is the whole observed display-space image; the output (the composite) is the
    prediction in masked pixels and the input elsewhere. Metrics are MSE, PSNR and SSIM of the
    composite over the whole image, both sides clipped to ``[0, DATA_RANGE]``.

    Args:
        backbone: the shared foundation ViT.
        observation: how clean simulated galaxies are degraded on the device.
        masks: how masks are drawn (fresh in training, fixed by dataset index otherwise);
            batches that already hold ``image`` and ``mask`` (real data) are used as they are.
        loss_on: ``masked`` pixels only, or ``all`` pixels of the prediction.
        loss: ``l1`` or ``mse``.
        num_maps: backbone blocks (evenly spaced, ending at the last) fed to the decoder.
        **kwargs: optimizer, lr_scheduler, layer_decay, freeze_backbone (see GalaxyTask).
    """

    module_arguments = (*GalaxyTask.module_arguments, "observation", "masks")

    def __init__(
        self,
        backbone: Backbone,
        observation: Observation | None = None,
        masks: MaskGenerator | None = None,
        loss_on: Literal["masked", "all"] = "masked",
        loss: Literal["l1", "mse"] = "l1",
        num_maps: int = 4,
        **kwargs: Any,
    ) -> None:
        super().__init__(backbone, **kwargs)
        self.observation = observation or Observation()
        self.masks = masks or MaskGenerator(patch_size=backbone.patch_size)
        self.map_indices = backbone.block_indices(num_maps)
        self.decoder = PixelDecoder.for_backbone(backbone, num_maps, extra_channels=1)
        self.add_metrics(restoration_metrics(), stages=("val", "test"))

    def prepare_batch(self, batch: dict, stage: str, masks: MaskGenerator | None = None) -> dict:
        """Observe, mask (fresh in training, by ``index`` otherwise) and hide the masked pixels.

        ``masks`` replaces the task's own mask generator (benchmarks at one kind and fraction).
        """
        if keys.MASK not in batch or keys.IMAGE not in batch:
            batch = observe_batch(self.observation, batch, stage)
            if keys.IMAGE not in batch:
                raise KeyError(f"ReconstructionTask: the batch needs {keys.IMAGE!r} or clean data")
            image = batch[keys.IMAGE]
            batch[keys.TARGET] = image
            masks = masks or self.masks
            height, width = image.shape[-2:]
            if stage == "train":
                batch[keys.MASK] = masks(len(image), height, width, device=image.device)
            elif keys.INDEX in batch:
                batch[keys.MASK] = masks.for_indices(batch[keys.INDEX], height, width, image.device)
            else:
                raise KeyError(f"ReconstructionTask: evaluation masks need {keys.INDEX!r}")
        mask = batch[keys.MASK]
        if mask.ndim == 3:
            mask = mask[:, None]
        batch[keys.MASK] = mask.to(batch[keys.IMAGE].dtype)
        batch[keys.IMAGE] = torch.where(mask.bool(), 0.0, batch[keys.IMAGE])
        return batch

    def decode(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The decoder's prediction of every pixel from masked images and masks (B, 1, H, W)."""
        if mask.ndim != 4 or mask.shape[1] != 1 or mask.shape[-2:] != image.shape[-2:]:
            raise DataError(
                f"ReconstructionTask: mask of shape {tuple(mask.shape)} does not fit images of "
                f"shape {tuple(image.shape)}; expected (B, 1, H, W)"
            )
        full = mask.flatten(1).bool().all(dim=1)
        if full.any():
            raise DataError(
                f"ReconstructionTask: the mask of image {int(full.nonzero()[0])} in the batch "
                "covers every pixel; nothing is left to reconstruct from"
            )
        maps = self.backbone.forward_maps(image, self.map_indices)
        return self.decoder(maps, image, mask)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The composite: prediction in masked pixels, the input image elsewhere."""
        return composite(self.decode(image, mask), image, mask)

    def compute(self, batch: dict) -> dict[str, Any]:
        """Reconstruct the batch and measure the loss against the full image."""
        image, mask = batch[keys.IMAGE], batch[keys.MASK]
        prediction = self.decode(image, mask)
        loss = self.pixel_loss(prediction, batch[keys.TARGET], mask)
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

    def predict_step(self, batch: dict, batch_idx: int) -> dict[str, Any]:
        """Composite display-space images with the masked inputs, masks and names, for writers."""
        return {
            "restored": self(batch[keys.IMAGE], batch[keys.MASK]),
            keys.IMAGE: batch[keys.IMAGE],
            keys.MASK: batch[keys.MASK],
            keys.NAME: batch.get(keys.NAME),
        }


def composite(prediction: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``prediction`` where ``mask`` (B, 1, H, W) is 1, ``image`` elsewhere."""
    return torch.where(mask.bool(), prediction, image)
