"""Metrics shared by tasks and benchmarks (torchmetrics, so DDP reduces them), embedding checks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from galvision.data.intensity import DATA_RANGE


def restoration_metrics() -> MetricCollection:
    """MSE, PSNR and SSIM in display space with ``data_range = DATA_RANGE``."""
    return MetricCollection(
        {
            "mse": MeanSquaredError(),
            "psnr": PeakSignalNoiseRatio(data_range=DATA_RANGE),
            "ssim": StructuralSimilarityIndexMeasure(data_range=DATA_RANGE),
        }
    )


class ColourError(MeanAbsoluteError):
    """Mean absolute error of colour: each band minus the mean of the bands (0 where grey).

    It counts tint a restoration adds to grey sources, or colour it loses or invents, apart
    from errors of brightness, which leave every band alike.
    """

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        super().update(preds - preds.mean(1, keepdim=True), target - target.mean(1, keepdim=True))


def retrieval_hits(queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """Whether each query (B, D) has its own key (same row) as nearest in cosine similarity."""
    similarity = F.normalize(queries, dim=1) @ F.normalize(keys, dim=1).T
    return similarity.argmax(dim=1) == torch.arange(len(queries), device=queries.device)


def embedding_spread(embeddings: torch.Tensor) -> torch.Tensor:
    """Deviation of unit-normalised embeddings (B, D) per dimension, times √D: 0 if collapsed.

    Embeddings spread evenly over the sphere give about 1 (SimSiam, Chen & He 2021).
    """
    unit = F.normalize(embeddings, dim=1)
    return unit.std(dim=0, correction=0).mean() * unit.shape[1] ** 0.5
