"""Learning-rate schedules that scale every parameter group's own rate, keeping layer decay."""

from __future__ import annotations

import math
from collections.abc import Sequence

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
