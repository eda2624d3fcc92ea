"""MultiTask: one backbone trained on several tasks at once, a sampler choosing each step's task
or each task's share of the step."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any, Literal

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from lightning.pytorch.strategies import DDPStrategy
from torch import nn
from torchjd.aggregation import Aggregator
from torchmetrics import MeanMetric

from galvision.checkpoints import import_class
from galvision.errors import ConfigError
from galvision.optim import TaskwiseOptimizer
from galvision.tasks.base import GalaxyTask, default_optimizer
from galvision.tasks.joint_steps import aggregated_backward, share_of
from galvision.tasks.sampling import TaskSampler, UniformSampler
from galvision.tasks.task_adapters import TaskAdapters
from galvision.tasks.task_conditioning import TaskConditioning
from galvision.tasks.task_list import TaskFactory, build_tasks, record_task_configs, task_names
from galvision.tasks.task_norms import TaskNorms


class SharedBackbone(nn.Module):
    """The network of a MultiTask: the backbone its tasks share (their heads live in them)."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone


class MultiTask(GalaxyTask):
    """Several tasks learning together on one backbone instance.

    Each task keeps its head, transforms, loss and metrics, and logs under its name
    (``val/deconv/psnr``). Every training step either the ``sampler`` picks one task, which
    learns from its own batch, or every task learns from the share of its batch the sampler's
    proportions give it (``tasks_per_step: all``). The optimizer (with layer decay and
    freezing as in any task) covers the backbone and every head. Its data is a
    ``MultiTaskDataModule`` with a datamodule per task name. ``galvision export --task NAME``
    turns a checkpoint into one task's own.

    Args:
        backbone: the shared backbone.
        tasks: the tasks, each a ``class_path`` with its ``init_args`` but no backbone; their
            own optimizer settings are not used.
        names: what each task logs under; default each class's ``name`` (``deconv``, ...).
        sampler: how tasks are drawn (default uniform); see ``galvision.tasks.sampling``.
        tasks_per_step: ``one``, a task drawn by the sampler each step; ``all``, every task
            each step, on the first ``p`` of its batch and its loss weighted by ``p``, its
            proportion: the same data and weight per task as drawing, without the draws.
        gradient_aggregator: with ``tasks_per_step: all``, how the tasks' gradients on the
            backbone combine into one (a ``torchjd.aggregation`` aggregator, e.g. ``UPGrad``
            or ``PCGrad``, which leave out the parts where tasks conflict); default their sum.
        monitor_task: the task whose own metric chooses the best checkpoint (default the first).
        loss_weighting: ``uncertainty`` scales each task's loss by a learned precision
            (Kendall, Gal & Cipolla 2018): ``exp(-s) * loss + s`` for each task of the step.
        optimizer_state: ``shared``, one optimizer state for every task; ``per_task``, the
            optimizer's moments kept per task (:class:`~galvision.optim.TaskwiseOptimizer`),
            so a task's step is not scaled by the others' gradients.
        task_norms: give each task its own offsets to the backbone's LayerNorm scales and
            shifts (:class:`~galvision.tasks.task_norms.TaskNorms`), zero at the start and
            learned from that task's steps alone; an exported task carries its own.
        adapter_rank: give each task its own low-rank (LoRA) updates of this rank to every
            linear layer of the backbone (:class:`~galvision.tasks.task_adapters.TaskAdapters`),
            zero at the start and learned from that task's steps alone; 0, none. An exported
            task carries its own, folded into the weights.
        optimizer, lr_scheduler, layer_decay, freeze_backbone: as in every GalaxyTask.
    """

    module_arguments = (
        "backbone", "tasks", "sampler", "gradient_aggregator", "optimizer", "lr_scheduler"
    )  # fmt: skip
    # Left out of benchmark run digests while at their defaults.
    later_arguments = (
        "optimizer_state", "task_norms", "adapter_rank", "tasks_per_step", "gradient_aggregator"
    )  # fmt: skip
    name = "multitask"

    def __init__(
        self,
        backbone: nn.Module,
        tasks: list[TaskFactory],
        names: list[str] | None = None,
        sampler: TaskSampler | None = None,
        monitor_task: str | None = None,
        tasks_per_step: Literal["one", "all"] = "one",
        gradient_aggregator: Aggregator | None = None,
        loss_weighting: Literal["none", "uncertainty"] = "none",
        optimizer_state: Literal["shared", "per_task"] = "shared",
        task_norms: bool = False,
        adapter_rank: int = 0,
        optimizer: OptimizerCallable = default_optimizer,
        lr_scheduler: LRSchedulerCallable | None = None,
        layer_decay: float | None = None,
        freeze_backbone: bool = False,
    ) -> None:
        super().__init__(backbone, [], optimizer, lr_scheduler, layer_decay, freeze_backbone)
        if not tasks:
            raise ConfigError("model.tasks is empty; list the tasks to train together")
        self.network = SharedBackbone(backbone)
        built = build_tasks(backbone, tasks)
        if "_class_path" in self.hparams:  # built by the CLI
            record_task_configs(built, self.hparams)
        self.tasks = nn.ModuleDict(zip(task_names(built, names), built, strict=True))
        self.sampler = sampler or UniformSampler()
        self.sampler.start(self.names)
        self.monitor = self.scoped_monitor(
            self.names, [type(task).monitor for task in built], monitor_task
        )
        self.log_variances = (
            nn.Parameter(torch.zeros(len(built))) if loss_weighting == "uncertainty" else None
        )
        self.val_losses = nn.ModuleDict({name: MeanMetric() for name in self.names})
        if optimizer_state not in ("shared", "per_task"):
            raise ConfigError(
                f"model.optimizer_state={optimizer_state!r}: choose 'shared' or 'per_task'"
            )
        self.optimizer_state = optimizer_state
        self.tasks_per_step = tasks_per_step
        self.gradient_aggregator = gradient_aggregator
        self.check_step_options()
        self.step_losses: dict[str, torch.Tensor] = {}
        self.task_norms = TaskNorms(backbone, self.names) if task_norms else None
        self.task_adapters = (
            TaskAdapters(backbone, self.names, adapter_rank) if adapter_rank else None
        )

    def check_step_options(self) -> None:
        """One-line errors for step options that do not go together."""
        if self.tasks_per_step not in ("one", "all"):
            raise ConfigError(
                f"model.tasks_per_step={self.tasks_per_step!r}: choose 'one' or 'all'"
            )
        if self.tasks_per_step == "all" and self.optimizer_state == "per_task":
            raise ConfigError(
                "model.optimizer_state=per_task keeps a state for the task of each step; with "
                "model.tasks_per_step=all every task shares the step, use 'shared'"
            )
        if self.gradient_aggregator is not None and self.tasks_per_step != "all":
            raise ConfigError(
                "model.gradient_aggregator combines the gradients of the tasks of one step; "
                "set model.tasks_per_step=all"
            )

    @property
    def names(self) -> list[str]:
        """The tasks' names, in order."""
        return list(self.tasks)

    @property
    def proportions_meaning(self) -> str:
        """What the sampler's proportions are proportions of, in this run's step mode."""
        return "share of each step" if self.tasks_per_step == "all" else "proportion of steps"

    @staticmethod
    def scoped_monitor(
        names: list[str], monitors: list[tuple[str, str]], chosen: str | None
    ) -> tuple[str, str]:
        """The monitor of task ``chosen`` (default the first), under its name."""
        chosen = names[0] if chosen is None else chosen
        if chosen not in names:
            raise ConfigError(f"model.monitor_task={chosen!r} is not one of the tasks {names}")
        metric, mode = monitors[names.index(chosen)]
        stage, _, key = metric.partition("/")
        return f"{stage}/{chosen}/{key}", mode

    @classmethod
    def monitor_for(cls, init_args: Mapping[str, Any] | None) -> tuple[str, str]:
        """The checkpoint monitor a config's MultiTask will have, before building it."""
        tasks = list((init_args or {}).get("tasks") or [])
        if not tasks:
            return cls.monitor
        classes = [import_class(task["class_path"]) for task in tasks]
        names = init_args.get("names") or [task_class.name for task_class in classes]
        if len(names) != len(classes):
            return cls.monitor  # refused with a clear message when the model is built
        monitors = [task_class.monitor for task_class in classes]
        return cls.scoped_monitor(list(names), monitors, init_args.get("monitor_task"))

    # -- the run ----------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        """Give every task its datamodule and this module to log through; check the pairing."""
        sources = getattr(self.datamodule, "datamodules", None)
        if self._trainer is not None and sources is None:
            raise ConfigError(
                "a MultiTask learns from data: galvision.data.multitask_datamodule."
                "MultiTaskDataModule, with a datamodule per task name"
            )
        if sources is not None and list(sources) != self.names:
            raise ConfigError(
                f"data.datamodules are named {list(sources)} but the tasks are {self.names}; "
                "give each task, in order, its datamodule under its name"
            )
        self.check_trainer()
        for name, task in self.tasks.items():
            task.join(self, name, sources[name] if sources is not None else None)
            task.setup(stage)

    def check_trainer(self) -> None:
        """One-line errors for a strategy or precision the step options cannot run under."""
        strategy = getattr(self._trainer, "strategy", None)
        if isinstance(strategy, DDPStrategy):
            if self.gradient_aggregator is not None:
                raise ConfigError(
                    "model.gradient_aggregator sets the gradients itself, past DDP's reduction; "
                    "train it on one device, or leave the aggregator out"
                )
            if self.tasks_per_step == "one" and not strategy._ddp_kwargs.get(
                "find_unused_parameters"
            ):
                raise ConfigError(
                    "trainer.strategy: a MultiTask step leaves the other tasks' heads unused; "
                    "use --trainer.strategy ddp_find_unused_parameters_true"
                )
        precision = str(getattr(self._trainer, "precision", ""))
        if self.gradient_aggregator is not None and precision.startswith("16"):
            raise ConfigError(
                f"trainer.precision={precision}: the gradient aggregator takes unscaled losses; "
                "use bf16-mixed or 32"
            )

    def build_optimizer(self) -> torch.optim.Optimizer:
        """The configured optimizer, with one state per task when ``optimizer_state`` says so."""
        if self.optimizer_state == "shared":
            return super().build_optimizer()
        return TaskwiseOptimizer(super().build_optimizer, self.names)

    @property
    def conditionings(self) -> list[TaskConditioning]:
        """The tasks' own parameters on the backbone: norm offsets, adapters, where set."""
        return [found for found in (self.task_norms, self.task_adapters) if found is not None]

    @contextmanager
    def conditioned_on(self, name: str) -> Iterator[None]:
        """The backbone as task ``name`` sees it: with its own norm offsets and adapters, if it
        has them."""
        with ExitStack() as stack:
            for conditioning in self.conditionings:
                stack.enter_context(conditioning.use(name))
            yield

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        if self.tasks_per_step == "one":
            name = self.sampler.draw(self.global_step)
            optimizer = self.trainer.optimizers[0] if self.trainer.optimizers else None
            if isinstance(optimizer, TaskwiseOptimizer):
                optimizer.select(name)
            self.step_losses = {name: self.task_loss(name, batch[name])}
        else:
            self.step_losses = {
                name: share * self.task_loss(name, share_of(batch[name], share))
                for name, share in self.sampler.proportions.items()
            }
        loss = torch.stack(list(self.step_losses.values())).sum()
        self.log("train/loss", loss, prog_bar=True, on_step=True, on_epoch=False)
        return loss

    def task_loss(self, name: str, batch: dict) -> torch.Tensor:
        """Task ``name``'s training loss on ``batch``, weighted by its learned uncertainty
        where ``loss_weighting`` says so."""
        task = self.tasks[name]
        with self.conditioned_on(name):
            loss = task.shared_step(task.prepare(batch, "train"), "train")["loss"]
        if self.log_variances is None:
            return loss
        log_variance = self.log_variances[self.names.index(name)]
        self.log(f"train/{name}/log_variance", log_variance, on_step=True, on_epoch=False)
        return torch.exp(-log_variance) * loss + log_variance

    def backward(self, loss: torch.Tensor, *args: Any, **kwargs: Any) -> None:
        """The step's gradients: of ``loss``, or through the gradient aggregator, if set."""
        losses, self.step_losses = list(self.step_losses.values()), {}
        aggregating = self.gradient_aggregator is not None
        shared = [p for p in self.backbone.parameters() if p.requires_grad] if aggregating else []
        if not shared:  # no aggregator, or a frozen backbone: a plain backward pass
            super().backward(loss, *args, **kwargs)
            return
        shared_ids = {id(p) for p in shared}
        own = [p for p in self.parameters() if p.requires_grad and id(p) not in shared_ids]
        aggregated_backward(losses, shared, own, self.gradient_aggregator)

    def evaluation_step(self, batch: dict, dataloader_idx: int, stage: str) -> None:
        """A validation or test batch of the task whose loader ``dataloader_idx`` is."""
        name = self.names[dataloader_idx]
        task = self.tasks[name]
        with self.conditioned_on(name):
            loss = task.shared_step(task.prepare(batch, stage), stage)["loss"]
        if stage == "val" and loss is not None:
            self.val_losses[name].update(loss.detach())

    def validation_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        self.evaluation_step(batch, dataloader_idx, "val")

    def test_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        self.evaluation_step(batch, dataloader_idx, "test")

    def compute(self, batch: dict) -> dict[str, Any]:
        """Each task's outputs on its own prepared batch (``batch``: name → batch); ``loss``:
        their sum, the multi-task loss of that step had it trained every task."""
        outputs = {}
        for name, part in batch.items():
            with self.conditioned_on(name):
                outputs[name] = self.tasks[name].compute(part)
        losses = [found["loss"] for found in outputs.values() if found["loss"] is not None]
        return {"loss": sum(losses) if losses else None, **outputs}

    def update_metrics(self, metrics, outputs: dict, batch: dict) -> None:
        """Nothing: a MultiTask has no metrics of its own, each task updates its own."""

    def predict_batch(self, batch: dict) -> dict[str, Any]:
        raise ConfigError(
            "a MultiTask does not predict; export one task (galvision export --ckpt CKPT --task "
            "NAME --output TASK.ckpt) and predict with it"
        )

    # -- the tasks' own hooks, and the sampler's update -------------------------------------
    def each_task(self, hook: str) -> None:
        """Call every task's own ``hook`` (per-class recall, detection metrics, ...)."""
        for task in self.tasks.values():
            getattr(task, hook)()

    def on_validation_epoch_start(self) -> None:
        self.each_task("on_validation_epoch_start")

    def on_validation_epoch_end(self) -> None:
        self.each_task("on_validation_epoch_end")
        losses = {}
        for name, mean in self.val_losses.items():
            if mean.update_count:
                losses[name] = float(mean.compute())
            mean.reset()
        if not self.trainer.sanity_checking:
            self.sampler.update(self.global_step, losses)
        for name, share in self.sampler.proportions.items():
            self.log(f"sampler/{name}", share, sync_dist=True)  # equal on every rank

    def on_test_epoch_start(self) -> None:
        self.each_task("on_test_epoch_start")

    def on_test_epoch_end(self) -> None:
        self.each_task("on_test_epoch_end")

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["task_sampler"] = self.sampler.state_dict()
        for name, task in self.tasks.items():
            own: dict[str, Any] = {}
            task.on_save_checkpoint(own)
            checkpoint.setdefault("tasks", {})[name] = own

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if "task_sampler" in checkpoint:
            self.sampler.load_state_dict(checkpoint["task_sampler"])
        for name, own in checkpoint.get("tasks", {}).items():
            if name in self.tasks:
                self.tasks[name].on_load_checkpoint(own)

    # -- one copy of the backbone in checkpoints --------------------------------------------
    def task_backbone_paths(self, name: str) -> list[str]:
        """State-dict prefixes under which task ``name`` holds the shared backbone."""
        modules = self.tasks[name].named_modules()
        return [f"{path}." for path, module in modules if module is self.backbone]

    def backbone_paths(self) -> list[str]:
        """State-dict prefixes under which the tasks hold the shared backbone."""
        return [f"tasks.{name}.{path}" for name in self.names
                for path in self.task_backbone_paths(name)]  # fmt: skip

    def task_state_dict(self, name: str) -> dict[str, Any]:
        """Task ``name``'s state as a single-task run would hold it: its norm offsets and
        adapters, if it has them, folded into the backbone."""
        state = self.tasks[name].state_dict()
        for conditioning in self.conditionings:
            for prefix in self.task_backbone_paths(name):
                state = conditioning.baked(name, state, prefix)
        return state

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The state with the backbone once, under ``network.backbone.``."""
        state = super().state_dict(*args, **kwargs)
        copies = tuple(self.backbone_paths())
        for key in [key for key in state if key.startswith(copies)]:
            del state[key]
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
        """Load a state of :meth:`state_dict`, the backbone copied to every task's place."""
        state = dict(state_dict)
        shared = [key for key in state if key.startswith("network.backbone.")]
        for prefix in self.backbone_paths():
            state.update({prefix + key.removeprefix("network.backbone."): state[key]
                          for key in shared})  # fmt: skip
        return super().load_state_dict(state, *args, **kwargs)
