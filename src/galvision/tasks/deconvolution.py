"""DeconvolutionTask: restore ground-based galaxy images to space-like resolution."""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from kornia.losses import ssim_loss
from torch import nn
from torchmetrics import MetricCollection

from galvision.data import keys
from galvision.data.intensity import DATA_RANGE
from galvision.heads import PixelDecoder
from galvision.metrics import restoration_metrics
from galvision.models.restoration import (
    DeconvolutionNetwork,
    DenseHeadFactory,
    build_dense_head,
)
from galvision.tasks.base import GalaxyTask


class DeconvolutionTask(GalaxyTask):
    """PSF deconvolution and denoising: observed image -> galaxy through a narrow space PSF.

    Batches hold the observed ``image``, its ``psf_fwhm`` and the ``target`` (for simulated
    galaxies, made by ``galvision.transforms.Observe``). Inputs and outputs are in display
    space (``galvision.data.intensity``); metrics are MSE, PSNR and SSIM there, with
    ``data_range=1``.

    Args:
        backbone: the shared foundation ViT.
        head: dense head factory, called as ``head(backbone, extra_channels)``; default
            :class:`~galvision.heads.PixelDecoder`.
        loss: ``l1``, ``mse``, ``l1+ssim`` or ``mse+ssim``.
        ssim_weight: weight of the SSIM term in the ``+ssim`` losses.
        condition_on_fwhm: give the head the observing PSF's FWHM as one extra plane.
        **kwargs: transforms, optimizer, lr_scheduler, layer_decay, freeze_backbone (see
            GalaxyTask).
    """

    monitor = ("val/psnr", "max")
    name = "deconv"

    def __init__(
        self,
        backbone: nn.Module,
        head: DenseHeadFactory = PixelDecoder,
        loss: Literal["l1", "mse", "l1+ssim", "mse+ssim"] = "l1",
        ssim_weight: float = 0.2,
        condition_on_fwhm: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(backbone, **kwargs)
        decoder = build_dense_head(head, backbone, int(condition_on_fwhm), "DeconvolutionTask")
        self.network = DeconvolutionNetwork(backbone, decoder, condition_on_fwhm)
        # Image metrics on noisy training batches cost time and say little: evaluation only.
        self.add_metrics(restoration_metrics(), stages=("val", "test"))

    def forward(self, image: torch.Tensor, psf_fwhm: torch.Tensor | None = None) -> torch.Tensor:
        """Restore display-space images (B, C, H, W), given the PSF FWHM in arcsec (B,)."""
        return self.network(image, psf_fwhm)

    def restore(self, batch: dict) -> torch.Tensor:
        """The network's restoration of a batch's ``image``."""
        image = keys.require(batch, keys.IMAGE, "DeconvolutionTask")
        fwhm = batch.get(keys.PSF_FWHM)
        if self.network.condition_on_fwhm and fwhm is None:
            keys.require(batch, keys.PSF_FWHM, "DeconvolutionTask", "or condition_on_fwhm: false")
        return self(image, fwhm)

    def compute(self, batch: dict) -> dict[str, Any]:
        """Restore the batch and measure the loss against its target."""
        restored = self.restore(batch)
        target = keys.require(batch, keys.TARGET, "DeconvolutionTask", "add Observe to data")
        mode = self.hparams.loss
        pixel = F.l1_loss if mode.startswith("l1") else F.mse_loss
        loss = pixel(restored, target)
        if mode.endswith("+ssim"):
            loss = loss + self.hparams.ssim_weight * ssim_loss(
                restored.clamp(0, DATA_RANGE), target, window_size=7, max_val=DATA_RANGE
            )
        return {"loss": loss, "restored": restored}

    def update_metrics(self, metrics: MetricCollection, outputs: dict, batch: dict) -> None:
        """Image metrics in display space on the restored image clipped to the data range."""
        metrics.update(outputs["restored"].clamp(0, DATA_RANGE), batch[keys.TARGET])

    def predict_batch(self, batch: dict) -> dict[str, Any]:
        """Restored display-space images with the inputs and names, for writers."""
        return {
            "restored": self.restore(batch).clamp(0, DATA_RANGE),
            keys.IMAGE: batch[keys.IMAGE],
            keys.NAME: batch.get(keys.NAME),
            keys.HEADER: batch.get(keys.HEADER),
            keys.SOURCE: batch.get(keys.SOURCE),
            keys.PSF_FWHM: batch.get(keys.PSF_FWHM),
        }
