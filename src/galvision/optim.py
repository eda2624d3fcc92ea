"""Learning-rate schedules that keep layer decay, and an optimizer with one state per task."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from galvision.errors import ConfigError


class WarmupCosineLR(LambdaLR):
    """Linear warm-up to each group's own rate, then cosine decay to ``final_fraction`` of it.

    The optimizer's ``lr`` is the peak rate. Every group's rate is multiplied by the same factor,
    so the ratios between groups (timm layer-wise decay) hold at every step.

    Args:
        optimizer: the wrapped optimizer.
        total_steps: optimisation steps of the whole run (e.g. ``${trainer.max_steps}``).
        warmup_fraction: fraction of ``total_steps`` spent warming up.
        final_fraction: fraction of the peak rate reached at ``total_steps`` and kept after.
        last_epoch: index of the last step, -1 to start afresh.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        total_steps: int,
        warmup_fraction: float = 0.1,
        final_fraction: float = 1e-3,
        last_epoch: int = -1,
    ) -> None:
        if total_steps < 1:
            raise ConfigError(f"WarmupCosineLR.total_steps={total_steps} must be at least 1")
        if not 0 <= warmup_fraction < 1:
            raise ConfigError(f"WarmupCosineLR.warmup_fraction={warmup_fraction} must be in [0, 1)")
        if not 0 <= final_fraction <= 1:
            raise ConfigError(f"WarmupCosineLR.final_fraction={final_fraction} must be in [0, 1]")
        self.total_steps = total_steps
        self.warmup_steps = round(warmup_fraction * total_steps)
        self.final_fraction = final_fraction
        super().__init__(optimizer, self.factor, last_epoch)

    def factor(self, step: int) -> float:
        """Multiplier of every group's peak rate at ``step`` (0 before the first update)."""
        if step < self.warmup_steps:
            # (step + 1) so that the first update already moves the weights.
            return (step + 1) / (self.warmup_steps + 1)
        decay_steps = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / decay_steps)
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        return self.final_fraction + (1 - self.final_fraction) * cosine


def scales_groups_alike(before: Sequence[float], after: Sequence[float]) -> bool:
    """Whether every group's rate changed by one common factor, so their ratios are kept."""
    return all(
        math.isclose(new * before[0], after[0] * old, rel_tol=1e-6, abs_tol=1e-15)
        for old, new in zip(before, after, strict=True)
    )


class TaskwiseOptimizer(Optimizer):
    """One inner optimizer per task over the same parameters and the same parameter groups.

    When each step learns from one task, a single Adam mixes the tasks: its first moment
    carries the last tasks' gradients into this task's step, and its second moment is set by
    the task with the largest gradients, which shrinks the steps of the others. Here each
    task's gradients update only that task's own moments, so the shared weights move as the
    task alone would move them. The groups (rates, layer decay, schedule) are shared, so one
    scheduler drives every inner optimizer. :meth:`select` names the task of the next step.

    Args:
        make: builds one inner optimizer (called once per task).
        names: the tasks, each with its own state.
    """

    def __init__(self, make: Callable[[], Optimizer], names: Sequence[str]) -> None:
        if not names:
            raise ConfigError("TaskwiseOptimizer needs at least one task name")
        self.inner = {name: make() for name in names}
        first = self.inner[names[0]]
        params = [param for group in first.param_groups for param in group["params"]]
        super().__init__(params, first.defaults)
        self.share_groups(first.param_groups)
        self.task = names[0]

    def share_groups(self, groups: list[dict[str, Any]]) -> None:
        """Make ``groups`` the parameter groups of this optimizer and of every inner one."""
        self.param_groups = groups
        for optimizer in self.inner.values():
            optimizer.param_groups = groups

    def select(self, name: str) -> None:
        """The task whose gradients the next :meth:`step` applies, with its own state."""
        if name not in self.inner:
            known = list(self.inner)
            raise ConfigError(f"TaskwiseOptimizer: no task {name!r}; the tasks are {known}")
        self.task = name

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Apply the gradients (``closure`` computes them first) with the selected task's state."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.inner[self.task].step()
        return loss

    def state_dict(self) -> dict[str, Any]:
        return {"task": self.task, "inner": {n: o.state_dict() for n, o in self.inner.items()}}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        saved = state_dict["inner"]
        if set(saved) != set(self.inner):
            raise ConfigError(
                f"optimizer state: saved for tasks {sorted(saved)}, "
                f"this run has {sorted(self.inner)}"
            )
        for name, optimizer in self.inner.items():
            optimizer.load_state_dict(saved[name])
        # Loading gives each inner optimizer groups of its own; one set is shared again.
        self.share_groups(next(iter(self.inner.values())).param_groups)
        self.task = state_dict["task"]
