"""MaskedAutoencoderTask: pretrain the shared backbone by predicting masked patches (MAE)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torchmetrics import MeanSquaredError, MetricCollection
from torchmetrics.image import PeakSignalNoiseRatio

from galvision.backbones import Backbone
from galvision.data import keys
from galvision.data.degrade import Observation, observe_batch
from galvision.data.intensity import DATA_RANGE
from galvision.errors import ConfigError
from galvision.heads import MAEDecoder, patchify, unpatchify
from galvision.tasks.base import GalaxyTask


def patch_statistics(patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of every patch (B, N, 1), as MAE's ``norm_pix_loss`` uses."""
    return patches.mean(-1, keepdim=True), (patches.var(-1, keepdim=True) + 1e-6).sqrt()


class MaskedAutoencoderTask(GalaxyTask):
    """Masked autoencoding (He et al. 2022) of observed survey images, to pretrain the backbone.

    The encoder sees a random ``1 - mask_ratio`` of the patches, a light decoder predicts the
    pixels of the others; the loss is the MSE on the masked patches only. Masks are fresh
    every training step and seeded per galaxy ``INDEX`` otherwise, so validation and test
    never change. Metrics are the MSE and PSNR of the masked patches in display space.

    Args:
        backbone: the shared foundation ViT, trained here and reused by the other tasks.
        observation: how clean simulated galaxies are degraded into the input images;
            batches that already hold an observed ``image`` are used as they are.
        mask_ratio: fraction of patches hidden from the encoder, in [0, 1); with 0 the loss
            covers every patch (a plain autoencoder).
        norm_pix_loss: predict every masked patch normalised by its own mean and standard
            deviation; metrics then restore the truth's statistics, as MAE's figures do.
        decoder_depth: transformer blocks of the decoder.
        decoder_width: width of the decoder tokens.
        decoder_heads: attention heads of the decoder blocks.
        mask_seed: base seed of the evaluation masks.
        **kwargs: optimizer, lr_scheduler, layer_decay, freeze_backbone (see GalaxyTask).
    """

    module_arguments = (*GalaxyTask.module_arguments, "observation")

    def __init__(
        self,
        backbone: Backbone,
        observation: Observation | None = None,
        mask_ratio: float = 0.75,
        norm_pix_loss: bool = False,
        decoder_depth: int = 4,
        decoder_width: int = 128,
        decoder_heads: int = 4,
        mask_seed: int = 20261124,
        **kwargs: Any,
    ) -> None:
        num_patches = backbone.grid_size**2
        if not 0 <= mask_ratio < 1:
            raise ConfigError(f"model: mask_ratio={mask_ratio} must be at least 0 and below 1")
        num_masked = round(num_patches * mask_ratio)
        if num_masked == num_patches:
            raise ConfigError(
                f"model: mask_ratio={mask_ratio} leaves none of the {num_patches} patches visible"
            )
        super().__init__(backbone, **kwargs)
        self.observation = observation or Observation()
        self.num_patches = num_patches
        self.num_visible = num_patches - num_masked
        self.decoder = MAEDecoder(
            embed_dim=backbone.embed_dim,
            grid_size=backbone.grid_size,
            patch_size=backbone.patch_size,
            out_chans=backbone.in_chans,
            num_prefix_tokens=backbone.num_prefix_tokens,
            depth=decoder_depth,
            width=decoder_width,
            num_heads=decoder_heads,
        )
        masked = MetricCollection(
            {
                "masked_mse": MeanSquaredError(),
                "masked_psnr": PeakSignalNoiseRatio(data_range=DATA_RANGE),
            }
        )
        self.add_metrics(masked, stages=("val", "test"))

    def sample_visible(self, count: int, index: torch.Tensor | None = None) -> torch.Tensor:
        """Sorted indices (count, n) of visible patches: random, or seeded by each ``index``."""
        if index is None:
            noise = torch.rand(count, self.num_patches)
        else:
            seed = self.hparams.mask_seed * 1_000_003
            noise = torch.stack(
                [
                    torch.rand(self.num_patches, generator=torch.Generator().manual_seed(seed + i))
                    for i in index.tolist()
                ]
            )
        return noise.argsort(dim=1)[:, : self.num_visible].sort(dim=1).values.to(self.device)

    def prepare_batch(self, batch: dict, stage: str) -> dict:
        """Observe simulated galaxies and draw the masks (fresh in training, seeded otherwise)."""
        batch = observe_batch(self.observation, batch, stage)
        index = None
        if stage != "train":
            if keys.INDEX not in batch:
                raise KeyError(f"MaskedAutoencoderTask: seeded masks need the key {keys.INDEX!r}")
            index = batch[keys.INDEX]
        return {**batch, keys.VISIBLE: self.sample_visible(len(batch[keys.IMAGE]), index)}

    def forward(self, image: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """Predicted pixels (B, N, p*p*C) of every patch from the ``visible`` ones (B, n)."""
        return self.decoder(self.backbone.forward_visible(image, visible), visible)

    def scored_patches(self, visible: torch.Tensor) -> torch.Tensor:
        """Boolean (B, N) of the patches the loss and metrics cover: the masked ones."""
        masked = torch.ones(len(visible), self.num_patches, dtype=torch.bool, device=visible.device)
        masked.scatter_(1, visible, False)
        return masked if masked.any() else ~masked

    def compute(self, batch: dict) -> dict[str, Any]:
        """Predict the patches and measure the MSE on the masked ones."""
        image, visible = batch[keys.IMAGE], batch[keys.VISIBLE]
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
        patches = patchify(image, self.backbone.patch_size)
        index = visible[..., None].expand(-1, -1, patches.shape[-1])
        predicted = self(image, visible).scatter(1, index, patches.gather(1, index))
        return unpatchify(predicted, self.backbone.patch_size)

    def predict_step(self, batch: dict, batch_idx: int) -> dict[str, Any]:
        """Reconstructed display-space images with their inputs, masks and names."""
        return {
            "reconstructed": self.reconstruct(batch[keys.IMAGE], batch[keys.VISIBLE]),
            keys.IMAGE: batch[keys.IMAGE],
            keys.VISIBLE: batch[keys.VISIBLE],
            keys.NAME: batch.get(keys.NAME),
        }
