"""SimulationSupervisedTask: pretrain the backbone to measure what the simulator knows.

Every simulated galaxy carries its physical parameters (sizes, profiles, bulge share, arms,
bar, ring, companion): labels that cost nothing and that real surveys never have. Regressing
them across many PSFs and noise levels teaches the backbone what galaxies are made of, without
the morphology classes it is later probed with.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torchmetrics import MeanSquaredError, MetricCollection

from galvision.data import keys
from galvision.heads import ClassifierHead
from galvision.models.classifier import Classifier, PooledHeadFactory
from galvision.tasks.base import GalaxyTask
from galvision.tasks.parameters import ParameterTargets
from galvision.transforms import BatchTransform, Observe, RandomDihedral


class SimulationSupervisedTask(GalaxyTask):
    """Regress the simulator's stored parameters of each galaxy from its observed image.

    The loss is the mean squared error of the standardised parameters over the ones each
    galaxy has (NaN entries, e.g. the arms of an elliptical, are left out); R² per parameter
    and the loss are logged. Training images are turned by ``RandomDihedral`` by default, so
    parameters that depend on orientation or handedness are refused with it.

    Args:
        backbone: the shared foundation ViT.
        parameters: stored parameters to regress, among the datamodule's
            ``stored_parameters``; default the rotation-invariant morphology parameters.
        head: head factory called as ``head(backbone, 1, len(parameters))``; default a
            :class:`~galvision.heads.ClassifierHead` whose ``regression`` output is used.
        **kwargs: transforms, optimizer, lr_scheduler, layer_decay, freeze_backbone (see
            GalaxyTask).
    """

    monitor = ("val/parameter_mse", "min")
    name = "parameters"

    def __init__(
        self,
        backbone: nn.Module,
        parameters: list[str] | None = None,
        head: PooledHeadFactory = ClassifierHead,
        **kwargs: Any,
    ) -> None:
        super().__init__(backbone, **kwargs)
        self.targets = ParameterTargets.checked(parameters, self.transforms)
        # A one-class head: only its regression output is trained.
        self.network = Classifier(backbone, head(backbone, 2, len(self.targets.names)))
        self.add_metrics(MetricCollection({"parameter_mse": MeanSquaredError()}), ("val", "test"))

    @staticmethod
    def default_transforms() -> list[BatchTransform]:
        """The survey observation, then random rotations and flips in training."""
        return [Observe(), RandomDihedral()]

    def setup(self, stage: str) -> None:
        """Check bands and size, and that the datamodule serves these parameters."""
        super().setup(stage)
        self.targets.check_data(self.datamodule, stage)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Standardised parameters (B, P) of display-space images."""
        return self.network(image)["regression"]

    def compute(self, batch: dict) -> dict[str, Any]:
        """Predicted parameters and the loss over the defined ones."""
        image = keys.require(batch, keys.IMAGE, "SimulationSupervisedTask")
        target = self.targets.of_batch(batch, "SimulationSupervisedTask")
        predicted = self(image)
        return {
            "loss": self.targets.loss(predicted, target),
            "predicted": predicted,
            "target": target,
        }

    def update_metrics(self, metrics: MetricCollection, outputs: dict, batch: dict) -> None:
        """MSE over the defined standardised parameters."""
        known = outputs["target"].isfinite()
        metrics.update(outputs["predicted"][known], outputs["target"][known])

    def shared_step(self, batch: dict, stage: str) -> dict[str, Any]:
        """The template's step, plus R² per parameter."""
        outputs = super().shared_step(batch, stage)
        self.targets.log_r2(self, stage, outputs["predicted"], outputs["target"])
        return outputs

    def predict_batch(self, batch: dict) -> dict[str, Any]:
        """Predicted parameters in their stored units, with their names and the image names."""
        return {
            "parameters": self.targets.values(self(batch[keys.IMAGE])),
            "parameter_names": self.targets.names,
            keys.NAME: batch.get(keys.NAME),
        }
