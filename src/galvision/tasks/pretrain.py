"""MaskedAutoencoderTask: pretrain the shared backbone by predicting masked patches (MAE)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanSquaredError, MetricCollection
from torchmetrics.image import PeakSignalNoiseRatio

from galvision.data import keys
from galvision.data.intensity import DATA_RANGE
from galvision.errors import ConfigError
from galvision.heads import MAEDecoder, patchify
from galvision.models.mae import MaskedAutoencoder, TokenHeadFactory
from galvision.tasks.base import GalaxyTask


def patch_statistics(patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of every patch (B, N, 1), as MAE's ``norm_pix_loss`` uses."""
    return patches.mean(-1, keepdim=True), (patches.var(-1, keepdim=True) + 1e-6).sqrt()


class MaskedAutoencoderTask(GalaxyTask):
    """Masked autoencoding (He et al. 2022) of observed survey images, to pretrain the backbone.

    The encoder sees a random ``1 - mask_ratio`` of the patches, a light decoder predicts the
    pixels of the others; the loss is the MSE on the masked patches only. Which patches are
    hidden is part of the algorithm, so the network draws them: fresh every training step and
    seeded per galaxy ``INDEX`` otherwise, so validation and test never change. Metrics are
    the MSE and PSNR of the masked patches in display space.

    Args:
        backbone: the shared foundation ViT, trained here and reused by the other tasks.
        head: decoder factory, called as ``head(backbone)``; default
            :class:`~galvision.heads.MAEDecoder` (4 blocks, 128 wide).
        mask_ratio: fraction of patches hidden from the encoder, in [0, 1); with 0 the loss
            covers every patch (a plain autoencoder).
        norm_pix_loss: predict every masked patch normalised by its own mean and standard
            deviation; metrics then restore the truth's statistics, as MAE's figures do.
        mask_seed: base seed of the evaluation masks.
        **kwargs: transforms, optimizer, lr_scheduler, layer_decay, freeze_backbone (see
            GalaxyTask).
    """

    monitor = ("val/masked_psnr", "max")
    name = "pretrain"

    def __init__(
        self,
        backbone: nn.Module,
        head: TokenHeadFactory = MAEDecoder,
        mask_ratio: float = 0.75,
        norm_pix_loss: bool = False,
        mask_seed: int = 20261124,
        **kwargs: Any,
    ) -> None:
        super().__init__(backbone, **kwargs)
        self.network = MaskedAutoencoder(backbone, head(backbone), mask_ratio, mask_seed)
        masked = MetricCollection(
            {
                "masked_mse": MeanSquaredError(),
                "masked_psnr": PeakSignalNoiseRatio(data_range=DATA_RANGE),
            }
        )
        self.add_metrics(masked, stages=("val", "test"))

    def visible_patches(self, batch: dict) -> torch.Tensor:
        """The batch's visible patches: its own, or drawn (seeded by index outside training)."""
        if keys.VISIBLE in batch:
            return batch[keys.VISIBLE]
        image = keys.require(batch, keys.IMAGE, "MaskedAutoencoderTask", "add Observe to data")
        index = None
        if not self.training:
            index = keys.require(batch, keys.INDEX, "MaskedAutoencoderTask", "it seeds the masks")
        return self.network.sample_visible(len(image), index, image.device)

    def forward(self, image: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """Predicted pixels (B, N, p*p*C) of every patch from the ``visible`` ones (B, n)."""
        return self.network(image, visible)

    def scored_patches(self, visible: torch.Tensor) -> torch.Tensor:
        """Boolean (B, N) of the patches the loss and metrics cover: the masked ones."""
        num_patches = self.network.num_patches
        masked = torch.ones(len(visible), num_patches, dtype=torch.bool, device=visible.device)
        masked.scatter_(1, visible, False)
        return masked if masked.any() else ~masked

    def compute(self, batch: dict) -> dict[str, Any]:
        """Predict the patches and measure the MSE on the masked ones."""
        visible = self.visible_patches(batch)
        image = batch[keys.IMAGE]
        predicted = self(image, visible)
        target = patchify(image, self.backbone.patch_size)
        if self.hparams.norm_pix_loss:
            mean, std = patch_statistics(target)
            target = (target - mean) / std
        scored = self.scored_patches(visible)
        loss = F.mse_loss(predicted[scored], target[scored])
        return {"loss": loss, "predicted": predicted, "scored": scored}

    def update_metrics(self, metrics: MetricCollection, outputs: dict, batch: dict) -> None:
        """MSE and PSNR of the masked patches in display space."""
        target = patchify(batch[keys.IMAGE], self.backbone.patch_size)
        predicted = outputs["predicted"]
        if self.hparams.norm_pix_loss:
            mean, std = patch_statistics(target)
            predicted = predicted * std + mean
        scored = outputs["scored"]
        metrics.update(predicted[scored], target[scored])

    def reconstruct(self, image: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """``image`` (B, C, H, W) with the patches not in ``visible`` (B, n) predicted.

        Visible patches are copied from ``image`` unchanged; any number n of them works.
        """
        if self.hparams.norm_pix_loss:
            raise ConfigError(
                "reconstruct needs a model trained with norm_pix_loss=false: normalised "
                "predictions lack each masked patch's brightness and contrast"
            )
        return self.network.reconstruct(image, visible)

    def predict_batch(self, batch: dict) -> dict[str, Any]:
        """Reconstructed display-space images with their inputs, masks and names."""
        visible = self.visible_patches(batch)
        return {
            "reconstructed": self.reconstruct(batch[keys.IMAGE], visible),
            keys.IMAGE: batch[keys.IMAGE],
            keys.VISIBLE: visible,
            keys.NAME: batch.get(keys.NAME),
        }
