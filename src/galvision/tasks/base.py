"""GalaxyTask: the template every galvision task follows (network + loss + metrics + optimizer)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from lightning.pytorch.core.mixins.hparams_mixin import _given_hyperparameters
from timm.optim import param_groups_layer_decay, param_groups_weight_decay
from torch import nn
from torch.optim import Optimizer
from torchmetrics import MetricCollection

from galvision.errors import ConfigError
from galvision.optim import scales_groups_alike
from galvision.transforms import BatchTransform, Observe, apply_transforms

STAGES = ("train", "val", "test")


def default_optimizer(params: Any) -> torch.optim.Optimizer:
    """AdamW with the usual ViT settings."""
    return torch.optim.AdamW(params, lr=1e-3, weight_decay=0.05)


class GalaxyTask(LightningModule, ABC):
    """A network (shared backbone + one head) trained through one ``shared_step`` for every stage.

    Subclasses build ``self.network`` (a plain ``nn.Module`` from ``galvision.models``, holding
    the backbone as ``network.backbone``), their loss and metrics in ``__init__``, and
    implement :meth:`compute` (forward pass and loss), :meth:`update_metrics` and
    :meth:`predict_batch`. Every step first puts its batch through ``transforms`` for its
    stage (:meth:`prepare`, ``galvision.transforms``): the one place where data are observed,
    masked and augmented.

    Args:
        backbone: the shared foundation backbone: a ``galvision.backbones.Backbone``, or any
            module meeting the contract the task needs (``galvision.backbones.contract``).
        transforms: batch transforms of this task; default :meth:`default_transforms`.
        optimizer: optimizer factory taking parameter groups (set from YAML).
        lr_scheduler: optional scheduler factory, stepped every optimisation step.
        layer_decay: timm layer-wise learning-rate decay of the backbone (e.g. 0.75);
            ``None`` trains all backbone layers at the base rate.
        freeze_backbone: keep the backbone fixed (linear probing / head-only training).
    """

    module_arguments: tuple[str, ...] = (
        "backbone",
        "head",
        "transforms",
        "optimizer",
        "lr_scheduler",
    )
    network: nn.Module
    # The metric and direction that choose the best checkpoint.
    monitor: tuple[str, str] = ("val/loss", "min")
    # What the task's values are logged under within a MultiTask (val/<name>/loss).
    name: str = "task"

    def __init__(
        self,
        backbone: nn.Module,
        transforms: list[BatchTransform] | None = None,
        optimizer: OptimizerCallable = default_optimizer,
        lr_scheduler: LRSchedulerCallable | None = None,
        layer_decay: float | None = None,
        freeze_backbone: bool = False,
    ) -> None:
        super().__init__()
        # From the CLI the hyperparameters are the config (class paths, plain values) and are kept
        # whole, so a checkpoint rebuilds its own model; from Python, modules are not hparams.
        from_cli = _given_hyperparameters.get() is not None
        self.save_hyperparameters(ignore=None if from_cli else list(self.module_arguments))
        self._record_backbone_weights_inside()
        self.transforms = self.default_transforms() if transforms is None else list(transforms)
        self.optimizer_factory = optimizer
        self.scheduler_factory = lr_scheduler
        self.metrics = nn.ModuleDict()
        self.freeze_backbone = freeze_backbone
        if freeze_backbone:
            backbone.requires_grad_(False)

    @classmethod
    def monitor_for(cls, init_args: Any) -> tuple[str, str]:
        """The checkpoint monitor of this task configured with ``init_args``."""
        return cls.monitor

    @staticmethod
    def default_transforms() -> list[BatchTransform]:
        """Transforms when none are configured: the survey observation of clean galaxies."""
        return [Observe()]

    @property
    def backbone(self) -> nn.Module:
        """The shared backbone, held by the network."""
        return self.network.backbone

    def train(self, mode: bool = True) -> GalaxyTask:
        """Switch modes, keeping a frozen backbone in eval mode (no dropout, fixed statistics)."""
        super().train(mode)
        if self.freeze_backbone:
            self.backbone.eval()
        return self

    @property
    def datamodule(self) -> Any:
        """The datamodule this task learns from: the Trainer's, or its own within a MultiTask."""
        return self.__dict__.get("_own_datamodule") or getattr(self._trainer, "datamodule", None)

    def join(self, host: LightningModule, name: str, datamodule: Any = None) -> None:
        """Run inside ``host`` (a MultiTask): log through it as ``<stage>/<name>/<key>``, learn
        from ``datamodule``. Kept out of ``nn.Module``'s registry: the host owns this task."""
        self.__dict__.update(_host=host, _scope=name, _own_datamodule=datamodule)
        self.trainer = host.trainer

    def log(self, name: str, value: Any, *args: Any, **kwargs: Any) -> None:
        """Lightning's ``log``; inside a MultiTask, through it under this task's name."""
        host = self.__dict__.get("_host")
        if host is None:
            return super().log(name, value, *args, **kwargs)
        stage, _, key = name.partition("/")
        kwargs["add_dataloader_idx"] = False  # the name already says which task's data
        host.log(f"{stage}/{self._scope}/{key}", value, *args, **kwargs)

    def _record_backbone_weights_inside(self) -> None:
        """Have the checkpointed backbone config build the architecture without reading weights."""
        backbone = self.hparams.get("backbone")
        if isinstance(backbone, dict) and backbone.get("init_args", {}).get("weights"):
            # The starting weights are now part of this module's state, so a checkpoint must not
            # depend on their file; hparams_initial (logged as hparams.yaml) still names it.
            self.hparams["backbone"] = {
                **backbone,
                "init_args": {**backbone["init_args"], "weights": None},
            }

    # -- what a task implements -------------------------------------------------------------
    @abstractmethod
    def compute(self, batch: dict) -> dict[str, Any]:
        """Forward pass on a prepared batch: a dict with ``loss`` (or None) and the outputs."""

    @abstractmethod
    def update_metrics(self, metrics: MetricCollection, outputs: dict, batch: dict) -> None:
        """Update this stage's metrics from the outputs of :meth:`compute`."""

    def prepare(self, batch: dict, stage: str) -> dict:
        """A data batch as this task trains or evaluates on it: through its transforms."""
        return apply_transforms(self.transforms, batch, stage)

    # -- the template -----------------------------------------------------------------------
    def add_metrics(self, metrics: MetricCollection, stages: tuple[str, ...] = STAGES) -> None:
        """Register a copy of ``metrics`` per stage, logged as ``<stage>/<name>``."""
        for stage in stages:
            # ModuleDict keys may not shadow nn.Module attributes such as `train`.
            self.metrics[f"{stage}_metrics"] = metrics.clone(prefix=f"{stage}/")

    def shared_step(self, batch: dict, stage: str) -> dict[str, Any]:
        """Compute loss and outputs, update and log the stage's metrics."""
        outputs = self.compute(batch)
        batch_size = next(len(v) for v in batch.values() if isinstance(v, torch.Tensor))
        if outputs["loss"] is not None:  # models such as torchvision's give no evaluation loss
            self.log(
                f"{stage}/loss",
                outputs["loss"],
                prog_bar=True,
                sync_dist=True,
                on_step=stage == "train",
                on_epoch=True,
                batch_size=batch_size,
            )
        key = f"{stage}_metrics"
        if key in self.metrics:
            metrics = self.metrics[key]
            with torch.no_grad():
                self.update_metrics(metrics, outputs, batch)
            self.log_dict(metrics, on_step=False, on_epoch=True, batch_size=batch_size)
        return outputs

    # Each step prepares its batch, on the device, for its own stage.
    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        return self.shared_step(self.prepare(batch, "train"), "train")["loss"]

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self.shared_step(self.prepare(batch, "val"), "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self.shared_step(self.prepare(batch, "test"), "test")

    def predict_step(self, batch: dict, batch_idx: int) -> dict[str, Any]:
        return self.predict_batch(self.prepare(batch, "predict"))

    @abstractmethod
    def predict_batch(self, batch: dict) -> dict[str, Any]:
        """What a prediction writer saves of a prepared batch (restored images, classes, ...)."""

    # -- data checks ------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        """Check that the datamodule's bands and image size fit the backbone."""
        datamodule = self.datamodule
        bands = getattr(datamodule, "num_bands", None)
        size = getattr(datamodule, "image_size", None)
        if bands is not None and bands != self.backbone.in_chans:
            raise ConfigError(
                f"data has {bands} band(s) but model.backbone.in_chans={self.backbone.in_chans}"
            )
        if size is not None and size != self.backbone.img_size:
            raise ConfigError(
                f"data images are {size}×{size} but model.backbone.img_size="
                f"{self.backbone.img_size}"
            )

    # -- optimisation -----------------------------------------------------------------------
    def parameter_groups(self) -> list[dict]:
        """Backbone groups (timm weight-decay split, optional layer decay) plus the rest."""
        groups: list[dict] = []
        if not self.freeze_backbone:
            # timm ViTs list their position embeddings and tokens; CNNs have no such list.
            model = getattr(self.backbone, "model", self.backbone)
            skip = getattr(model, "no_weight_decay", set)()
            if self.hparams.layer_decay is not None:
                groups = param_groups_layer_decay(
                    model,
                    weight_decay=1.0,
                    no_weight_decay_list=skip,
                    layer_decay=self.hparams.layer_decay,
                )
            else:
                groups = param_groups_weight_decay(model, 1.0, skip)
        backbone_ids = {id(p) for p in self.backbone.parameters()}
        rest = [p for p in self.parameters() if id(p) not in backbone_ids and p.requires_grad]
        groups.append({"params": rest})
        for group in groups:
            # timm marks decayed groups with 1.0: let them take the optimizer's weight decay.
            if group.get("weight_decay") == 1.0:
                del group["weight_decay"]
        return [g for g in groups if len(g["params"])]

    def build_optimizer(self) -> Optimizer:
        """The configured optimizer over :meth:`parameter_groups` (rates not yet scaled)."""
        return self.optimizer_factory(self.parameter_groups())

    def configure_optimizers(self) -> Any:
        """Optimizer over :meth:`parameter_groups`, learning rates scaled per layer."""
        optimizer = self.build_optimizer()
        for group in optimizer.param_groups:
            group["lr"] = group["lr"] * group.pop("lr_scale", 1.0)
        if self.scheduler_factory is None:
            return optimizer
        rates = [group["lr"] for group in optimizer.param_groups]
        scheduler = self.scheduler_factory(optimizer)
        after = [group["lr"] for group in optimizer.param_groups]
        if self.hparams.layer_decay is not None and not scales_groups_alike(rates, after):
            raise ConfigError(
                f"model.lr_scheduler: {type(scheduler).__name__} gives every parameter group one "
                "learning rate, undoing model.layer_decay; use galvision.optim.WarmupCosineLR"
            )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }
