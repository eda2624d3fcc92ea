"""DeconvolutionTask: restore ground-based galaxy images to space-like resolution."""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from kornia.losses import ssim_loss
from torchmetrics import MetricCollection

from galvision.backbones import Backbone
from galvision.data import keys
from galvision.data.degrade import Observation, observe_batch
from galvision.data.intensity import DATA_RANGE
from galvision.heads import PixelDecoder
from galvision.metrics import restoration_metrics
from galvision.tasks.base import GalaxyTask

# The decoder is told the seeing as (fwhm - centre) / spread, near [-1, 1] for ground surveys.
FWHM_CENTRE, FWHM_SPREAD = 1.25, 0.35


class DeconvolutionTask(GalaxyTask):
    """PSF deconvolution and denoising: observed image -> galaxy through a narrow space PSF.

    Inputs and outputs are in display space (``galvision.data.intensity``); metrics are MSE,
    PSNR and SSIM there, with ``data_range=1``.

    Args:
        backbone: the shared foundation ViT.
        observation: how clean simulated galaxies are degraded on the device; batches that
            already hold an observed ``image`` (real data) are used as they are.
        loss: ``l1``, ``mse``, ``l1+ssim`` or ``mse+ssim``.
        ssim_weight: weight of the SSIM term in the ``+ssim`` losses.
        num_maps: backbone blocks (evenly spaced, ending at the last) fed to the decoder.
        condition_on_fwhm: give the decoder the observing PSF's FWHM.
        **kwargs: optimizer, lr_scheduler, layer_decay, freeze_backbone (see GalaxyTask).
    """

    module_arguments = (*GalaxyTask.module_arguments, "observation")

    def __init__(
        self,
        backbone: Backbone,
        observation: Observation | None = None,
        loss: Literal["l1", "mse", "l1+ssim", "mse+ssim"] = "l1",
        ssim_weight: float = 0.2,
        num_maps: int = 4,
        condition_on_fwhm: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(backbone, **kwargs)
        self.observation = observation or Observation()
        self.map_indices = backbone.block_indices(num_maps)
        self.decoder = PixelDecoder.for_backbone(
            backbone, num_maps, extra_channels=int(condition_on_fwhm)
        )
        # Image metrics on noisy training batches cost time and say little: evaluation only.
        self.add_metrics(restoration_metrics(), stages=("val", "test"))

    def prepare_batch(self, batch: dict, stage: str) -> dict:
        """Observe simulated clean galaxies (fresh noise in training, seeded otherwise)."""
        return observe_batch(self.observation, batch, stage)

    def forward(self, image: torch.Tensor, psf_fwhm: torch.Tensor | None = None) -> torch.Tensor:
        """Restore display-space images (B, C, H, W), given the PSF FWHM in arcsec (B,)."""
        seeing = None
        if self.decoder.extra_channels:
            if psf_fwhm is None:
                raise KeyError(f"DeconvolutionTask: the batch needs {keys.PSF_FWHM!r}")
            scaled = (psf_fwhm.to(image.dtype) - FWHM_CENTRE) / FWHM_SPREAD
            seeing = scaled[:, None, None, None].expand(-1, 1, *image.shape[-2:])
        maps = self.backbone.forward_maps(image, self.map_indices)
        return self.decoder(maps, image, seeing)

    def compute(self, batch: dict) -> dict[str, Any]:
        """Restore the batch and measure the loss against its target."""
        restored = self(batch[keys.IMAGE], batch.get(keys.PSF_FWHM))
        target = batch[keys.TARGET]
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

    def predict_step(self, batch: dict, batch_idx: int) -> dict[str, Any]:
        """Restored display-space images with the inputs and names, for writers."""
        restored = self(batch[keys.IMAGE], batch.get(keys.PSF_FWHM)).clamp(0, DATA_RANGE)
        return {
            "restored": restored,
            keys.IMAGE: batch[keys.IMAGE],
            keys.NAME: batch.get(keys.NAME),
            keys.PSF_FWHM: batch.get(keys.PSF_FWHM),
        }
