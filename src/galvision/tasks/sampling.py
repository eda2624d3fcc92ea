"""Task samplers of a MultiTask: which task's batch each training step learns from.

Every sampler draws from its current proportions with a generator seeded by (seed, step), so
every DDP rank draws the same task at the same step without talking to the others. The
proportions change only in :meth:`TaskSampler.update`, from validation losses that Lightning
has already reduced over ranks, so they stay equal on every rank too.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from galvision.errors import ConfigError


class TaskSampler:
    """Draws tasks in fixed proportions (uniform unless a subclass says otherwise).

    Args:
        seed: seed of the draws; with the step it fixes the task of every step.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.names: list[str] = []
        self.proportions: dict[str, float] = {}
        self.history: list[tuple[int, dict[str, float]]] = []

    def start(self, names: list[str]) -> None:
        """Begin with the tasks ``names``, at the initial proportions."""
        self.names = list(names)
        if not self.proportions:
            self.proportions = self.initial()
            self.history = [(0, dict(self.proportions))]

    def initial(self) -> dict[str, float]:
        """The proportions before any validation."""
        return {name: 1 / len(self.names) for name in self.names}

    def draw(self, step: int) -> str:
        """The task of training step ``step``: the same on every rank."""
        rng = np.random.default_rng((self.seed, step))
        weights = np.array([self.proportions[name] for name in self.names])
        return self.names[rng.choice(len(self.names), p=weights / weights.sum())]

    def update(self, step: int, losses: dict[str, float]) -> None:
        """Take the validation ``losses`` of every task at ``step``; fixed samplers ignore them."""

    def record(self, step: int) -> None:
        """Remember the proportions from ``step`` on."""
        self.history.append((step, dict(self.proportions)))

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps, so a resumed run samples on as before."""
        return {"proportions": self.proportions, "history": self.history}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.proportions = dict(state["proportions"])
        self.history = [(step, dict(shares)) for step, shares in state["history"]]


class UniformSampler(TaskSampler):
    """Every task equally often."""


class WeightedSampler(TaskSampler):
    """Fixed proportions from the config, e.g. ``{deconv: 2, reconstruct: 1}`` (normalised).

    Args:
        weights: a positive weight for every task, by name.
        seed: seed of the draws.
    """

    def __init__(self, weights: dict[str, float], seed: int = 0) -> None:
        super().__init__(seed)
        bad = {name: weight for name, weight in weights.items() if not weight > 0}
        if bad:
            raise ConfigError(f"model.sampler.weights: weights must be positive, got {bad}")
        self.weights = dict(weights)

    def initial(self) -> dict[str, float]:
        unknown = sorted(set(self.weights) - set(self.names))
        missing = sorted(set(self.names) - set(self.weights))
        if unknown or missing:
            raise ConfigError(
                f"model.sampler.weights: names {unknown or missing} "
                f"{'are not tasks of this run' if unknown else 'have no weight'}; "
                f"the tasks are {self.names}"
            )
        total = sum(self.weights.values())
        return {name: float(self.weights[name] / total) for name in self.names}


class ActiveSampler(TaskSampler):
    """Proportions re-estimated at every validation from each task's recent progress.

    The rule: at validation ``v`` each task's relative improvement is
    ``r = (L[v-1] - L[v]) / |L[v-1]|`` of its validation loss ``L``. Tasks improving least get
    most: ``target = floor + (1 - n * floor) * softmax(-r / temperature)``, and the proportions
    move toward it, ``p = momentum * p + (1 - momentum) * target``. Relative changes make losses
    of different scales comparable; the floor keeps every task learning. A task without a
    validation loss keeps the mean improvement of the others.

    Args:
        temperature: how strongly a gap in relative improvement shifts the proportions.
        floor: the least proportion of any task.
        momentum: the share of the old proportions kept at each update.
        seed: seed of the draws.
    """

    def __init__(
        self, temperature: float = 0.05, floor: float = 0.05, momentum: float = 0.5, seed: int = 0
    ) -> None:
        super().__init__(seed)
        if not temperature > 0:
            raise ConfigError(f"model.sampler.temperature must be > 0, got {temperature}")
        if not 0 <= momentum < 1:
            raise ConfigError(f"model.sampler.momentum must lie in [0, 1), got {momentum}")
        self.temperature, self.floor, self.momentum = temperature, floor, momentum
        self.previous: dict[str, float] = {}

    def start(self, names: list[str]) -> None:
        if not 0 <= self.floor * len(names) < 1:
            raise ConfigError(
                f"model.sampler.floor={self.floor} leaves nothing to share among "
                f"{len(names)} tasks; it must be below {1 / len(names):.3f}"
            )
        super().start(names)

    def improvements(self, losses: dict[str, float]) -> dict[str, float]:
        """Relative improvement of each task since the last validation."""
        found = {
            name: (self.previous[name] - losses[name]) / max(abs(self.previous[name]), 1e-12)
            for name in self.names
            if math.isfinite(losses.get(name, math.nan)) and name in self.previous
        }
        mean = float(np.mean(list(found.values()))) if found else 0.0
        return {name: found.get(name, mean) for name in self.names}

    def update(self, step: int, losses: dict[str, float]) -> None:
        if self.previous:
            gains = self.improvements(losses)
            scores = np.array([-gains[name] / self.temperature for name in self.names])
            soft = np.exp(scores - scores.max())
            target = self.floor + (1 - len(self.names) * self.floor) * soft / soft.sum()
            self.proportions = {
                name: float(self.momentum * self.proportions[name] + (1 - self.momentum) * share)
                for name, share in zip(self.names, target, strict=True)
            }
            self.record(step)
        self.previous.update({k: v for k, v in losses.items() if math.isfinite(v)})

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "previous": self.previous}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.previous = dict(state.get("previous", {}))
