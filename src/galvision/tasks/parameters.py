"""Stored simulation parameters as regression targets: standardised, NaN where undefined, R²."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torchmetrics import MetricCollection, R2Score

from galvision.errors import ConfigError

EVALUATION = ("val", "test")


class DefinedR2Score(R2Score):
    """R², or NaN while fewer than two galaxies have the parameter (too few to define it)."""

    def compute(self) -> torch.Tensor:
        if self.total < 2:
            return torch.tensor(float("nan"), device=self.total.device)
        return super().compute()


class ParameterTargets(nn.Module):
    """The regressed parameters of a task: their training statistics and their R² per stage.

    Targets are the stored values standardised by the training set's mean and deviation (kept
    in the checkpoint); a parameter a galaxy lacks (NaN, e.g. the bar length of a galaxy
    without a bar) adds nothing to the loss or to R². The datamodule may serve more parameters
    than these: their columns are picked by name.
    """

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = list(names)
        self.columns: list[int] | None = None  # of the served PARAMS, once the data are known
        self.register_buffer("mean", torch.zeros(len(names)))
        self.register_buffer("std", torch.ones(len(names)))
        self.r2 = nn.ModuleDict(
            {
                stage: MetricCollection(
                    {f"r2_{n}": DefinedR2Score() for n in names}, prefix=f"{stage}/"
                )
                for stage in EVALUATION
            }
        )

    def check_data(self, datamodule: Any, stage: str) -> None:
        """Check the datamodule serves these parameters; take their training statistics."""
        served = getattr(datamodule, "stored_parameters", None)
        if served is None:
            return  # batches made elsewhere (tests, notebooks) bring their own PARAMS
        missing = [name for name in self.names if name not in served]
        if missing:
            raise ConfigError(
                f"model parameters {missing} are not among data.stored_parameters={list(served)}"
            )
        self.columns = [list(served).index(name) for name in self.names]
        if stage == "fit":
            mean, std = datamodule.parameter_statistics()
            self.mean.copy_(mean[self.columns])
            self.std.copy_(std[self.columns])

    def standardise(self, values: torch.Tensor) -> torch.Tensor:
        """Stored values (B, served) as standardised targets (B, P) of these parameters."""
        if self.columns is not None:
            values = values[:, self.columns]
        return (values - self.mean) / self.std

    def values(self, predicted: torch.Tensor) -> torch.Tensor:
        """Standardised predictions (B, P) as values in the stored units."""
        return predicted * self.std + self.mean

    @staticmethod
    def loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean squared error over the defined (finite) entries of standardised targets."""
        known = target.isfinite()
        error = (predicted - target.nan_to_num()).square() * known
        return error.sum() / known.sum().clamp_min(1)

    def update_r2(self, stage: str, predicted: torch.Tensor, target: torch.Tensor) -> None:
        """R² of each parameter over the galaxies where it is defined."""
        metrics = self.r2[stage].values(copy_state=False)
        for column, metric in enumerate(metrics):
            known = target[:, column].isfinite()
            if known.any():
                metric.update(predicted[known, column], target[known, column])
