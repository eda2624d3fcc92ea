"""Stored simulation parameters as regression targets: standardised, NaN where undefined, R²."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from lightning.pytorch import LightningModule
from torch import nn
from torchmetrics import MetricCollection, R2Score

from galvision.data import keys
from galvision.errors import ConfigError
from galvision.transforms import BatchTransform, RandomDihedral

EVALUATION = ("val", "test")
# Rotation-invariant morphology parameters of the simulator (galvision.data.simulate.morphology).
DEFAULT_PARAMETERS = (
    "mag_r",
    "hlr",
    "q",
    "sersic_n",
    "bulge_frac",
    "bulge_hlr",
    "arm_count",
    "pitch_deg",
    "arm_strength",
    "bar_frac",
    "bar_length",
    "ring_frac",
    "ring_radius",
    "companion_sep",
    "companion_flux_ratio",
)
# Parameters that change when an image is turned or mirrored, and the class labels.
ORIENTED = ("position_angle", "bar_angle", "arm_phase", "companion_angle", "dx", "dy")
MIRRORED = ("arm_winding",)
FORBIDDEN = ("label",)


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

    @classmethod
    def checked(
        cls, parameters: Sequence[str] | None, transforms: Sequence[BatchTransform]
    ) -> ParameterTargets:
        """Checked targets of ``parameters``, by default the rotation-invariant ones."""
        names = list(DEFAULT_PARAMETERS if parameters is None else parameters)
        check_parameters(names, transforms)
        return cls(names)

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

    def of_batch(self, batch: dict, who: str) -> torch.Tensor:
        """Standardised targets (B, P) of a batch's stored ``PARAMS``."""
        params = keys.require(batch, keys.PARAMS, who, "set data.stored_parameters")
        return self.standardise(params)

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

    def log_r2(
        self, task: LightningModule, stage: str, predicted: torch.Tensor, target: torch.Tensor
    ) -> None:
        """Update and log through ``task`` the R² of an evaluation stage (others pass)."""
        if stage in self.r2:
            self.update_r2(stage, predicted, target)
            task.log_dict(self.r2[stage], on_step=False, on_epoch=True, batch_size=len(target))


def check_parameters(names: list[str], transforms: Sequence[BatchTransform]) -> None:
    """Refuse class labels, repeats, and orientation-dependent parameters under RandomDihedral."""
    if not names:
        raise ConfigError("model.parameters: name at least one stored parameter")
    if len(set(names)) != len(names):
        raise ConfigError(f"model.parameters={names} repeats a parameter")
    forbidden = [name for name in names if name in FORBIDDEN]
    if forbidden:
        raise ConfigError(
            f"model.parameters: {forbidden[0]!r} is a class label, which the features are "
            "later probed with"
        )
    if any(isinstance(t, RandomDihedral) for t in transforms):
        turned = [name for name in names if name in ORIENTED + MIRRORED]
        if turned:
            raise ConfigError(
                f"model.parameters: {turned[0]!r} changes when RandomDihedral turns or mirrors "
                "the image; drop it or the transform"
            )
