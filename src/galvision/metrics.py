"""Metric collections shared by tasks and benchmarks (torchmetrics, so DDP reduces them)."""

from __future__ import annotations

from torchmetrics import MeanSquaredError, MetricCollection
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
