"""ContrastiveTask: pretrain the backbone to recognise one galaxy in two observations (SimCLR).

Two views of every galaxy go through the backbone and SimCLR's projection; the NT-Xent loss
(lightly) pulls the two projections of one galaxy together and pushes those of the other
galaxies in the batch away. A simulated galaxy is observed twice: through its own PSF and
through another galaxy's, each with its own noise and turn, so what the views share is the
galaxy, not the seeing or the noise. Optionally the first view also regresses the simulator's
stored parameters, as :class:`~galvision.tasks.SimulationSupervisedTask` does.
"""

from __future__ import annotations

from typing import Any

import torch
from lightly.loss import NTXentLoss
from torch import nn
from torchmetrics import MeanMetric, MetricCollection

from galvision.data import keys
from galvision.errors import ConfigError
from galvision.heads import ClassifierHead
from galvision.metrics import embedding_spread, retrieval_hits
from galvision.models.classifier import PooledHeadFactory
from galvision.models.contrastive import ContrastiveNetwork
from galvision.tasks.base import GalaxyTask
from galvision.tasks.parameters import ParameterTargets
from galvision.transforms import (
    BatchTransform,
    IndexedDihedral,
    Observe,
    RandomDihedral,
    RedrawPSF,
    apply_transforms,
)

# Put in front of the task's transforms for the second view only: in training another
# galaxy's PSF (the transforms draw fresh noise and turns themselves); in evaluation, where
# every draw is fixed by the sample's index and would repeat the first view, a fixed turn.
SECOND_VIEW: tuple[BatchTransform, ...] = (RedrawPSF(), IndexedDihedral())


class ContrastiveTask(GalaxyTask):
    """SimCLR on survey observations, optionally with the simulator's parameters as targets.

    The first view is the batch through ``transforms``, the second the same batch through
    :data:`SECOND_VIEW` and ``transforms`` again. Besides the loss, evaluation logs
    ``retrieval_top1`` (how often a galaxy's second view is the nearest of the batch to its
    first, in cosine similarity of the embeddings) and ``embedding_spread`` (near 0 when the
    embeddings collapse to one point).

    Args:
        backbone: the shared foundation backbone.
        temperature: NT-Xent temperature.
        projection_dim: width of the projection the loss is taken on.
        parameters: stored parameters regressed from the first view when
            ``parameter_weight`` > 0; default the rotation-invariant morphology parameters.
        parameter_weight: weight of the parameter loss added to the contrastive one; 0 trains
            the contrastive objective alone.
        head: head factory of the parameter regression, called as
            ``head(backbone, 2, len(parameters))``; its ``regression`` output is used.
        **kwargs: transforms, optimizer, lr_scheduler, layer_decay, freeze_backbone (see
            GalaxyTask).
    """

    monitor = ("val/loss", "min")
    name = "contrastive"

    def __init__(
        self,
        backbone: nn.Module,
        temperature: float = 0.2,
        projection_dim: int = 128,
        parameters: list[str] | None = None,
        parameter_weight: float = 0.0,
        head: PooledHeadFactory = ClassifierHead,
        **kwargs: Any,
    ) -> None:
        super().__init__(backbone, **kwargs)
        if parameter_weight < 0:
            raise ConfigError(f"model.parameter_weight={parameter_weight} must not be negative")
        if parameters is not None and parameter_weight == 0:
            raise ConfigError("model.parameters are regressed only with model.parameter_weight > 0")
        self.targets = (
            ParameterTargets.checked(parameters, self.transforms) if parameter_weight > 0 else None
        )
        # Only the head's regression output is trained.
        regression = None if self.targets is None else head(backbone, 2, len(self.targets.names))
        self.network = ContrastiveNetwork(backbone, projection_dim, head=regression)
        self.criterion = NTXentLoss(temperature=temperature, gather_distributed=True)
        health = {"retrieval_top1": MeanMetric(), "embedding_spread": MeanMetric()}
        self.add_metrics(MetricCollection(health), ("val", "test"))

    @staticmethod
    def default_transforms() -> list[BatchTransform]:
        """The survey observation, then random rotations and flips in training."""
        return [Observe(), RandomDihedral()]

    def setup(self, stage: str) -> None:
        """Check bands and size, and that the datamodule serves the regressed parameters."""
        super().setup(stage)
        if self.targets is not None:
            self.targets.check_data(self.datamodule, stage)

    def prepare(self, batch: dict, stage: str) -> dict:
        """The first view, and outside prediction the second view's image as ``SECOND_IMAGE``."""
        first = super().prepare(batch, stage)
        if stage == "predict":
            return first
        second = apply_transforms([*SECOND_VIEW, *self.transforms], batch, stage)
        return {**first, keys.SECOND_IMAGE: second[keys.IMAGE]}

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Pooled embeddings (B, D) of display-space images."""
        return self.backbone.forward_pooled(image)

    def compute(self, batch: dict) -> dict[str, Any]:
        """Both views through the network; NT-Xent, plus the weighted parameter loss."""
        first = self.network(keys.require(batch, keys.IMAGE, "ContrastiveTask"))
        second = self.network(
            keys.require(batch, keys.SECOND_IMAGE, "ContrastiveTask", "use ContrastiveTask.prepare")
        )
        loss = self.criterion(first["projection"], second["projection"])
        outputs = {"embedding": first["embedding"], "second_embedding": second["embedding"]}
        if self.targets is not None:
            target = self.targets.of_batch(batch, "ContrastiveTask")
            predicted = first["regression"]
            loss = loss + self.hparams.parameter_weight * self.targets.loss(predicted, target)
            outputs.update(predicted=predicted, target=target)
        return {"loss": loss, **outputs}

    def update_metrics(self, metrics: MetricCollection, outputs: dict, batch: dict) -> None:
        """Retrieval of the second views by the first, and the spread of the embeddings."""
        first, second = outputs["embedding"], outputs["second_embedding"]
        metrics["retrieval_top1"].update(retrieval_hits(first, second).float())
        metrics["embedding_spread"].update(embedding_spread(first), weight=len(first))

    def shared_step(self, batch: dict, stage: str) -> dict[str, Any]:
        """The template's step, plus R² per parameter when they are regressed."""
        outputs = super().shared_step(batch, stage)
        if self.targets is not None:
            self.targets.log_r2(self, stage, outputs["predicted"], outputs["target"])
        return outputs

    def predict_batch(self, batch: dict) -> dict[str, Any]:
        """Pooled embeddings, with the image names."""
        return {"embedding": self(batch[keys.IMAGE]), keys.NAME: batch.get(keys.NAME)}
