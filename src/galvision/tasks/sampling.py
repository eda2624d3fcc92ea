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


def positive_values(option: str, values: dict[str, float], what: str) -> dict[str, float]:
    """``values`` (a number per task name), or a one-line error naming ``option``."""
    bad = {name: value for name, value in values.items() if not value > 0}
    if bad:
        raise ConfigError(f"{option} must be positive {what}, got {bad}")
    return dict(values)


def check_known_tasks(option: str, values: dict[str, float], names: list[str]) -> None:
    """One-line error if ``values`` names a task that is not one of ``names``."""
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(
            f"{option}: names {unknown} are not tasks of this run; the tasks are {names}"
        )


def check_every_task(option: str, values: dict[str, float], names: list[str], what: str) -> None:
    """One-line error unless ``values`` has an entry for exactly the tasks ``names``."""
    check_known_tasks(option, values, names)
    missing = sorted(set(names) - set(values))
    if missing:
        raise ConfigError(f"{option}: names {missing} have no {what}; the tasks are {names}")


def with_mean(found: dict[str, float], names: list[str]) -> dict[str, float]:
    """``found`` for every task of ``names``, those without a value at the others' mean."""
    mean = float(np.mean(list(found.values()))) if found else 0.0
    return {name: found.get(name, mean) for name in names}


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
        self.weights = positive_values("model.sampler.weights", weights, "weights")

    def initial(self) -> dict[str, float]:
        check_every_task("model.sampler.weights", self.weights, self.names, "weight")
        total = sum(self.weights.values())
        return {name: float(self.weights[name] / total) for name in self.names}


class ActiveSampler(TaskSampler):
    """Proportions re-estimated at every validation from each task's recent progress.

    The rule: at validation ``v`` each task's relative improvement is
    ``r = (L[v-1] - L[v]) / |L[v-1]|`` of its validation loss ``L``. Tasks improving least get
    most: ``goal = f + (1 - sum(f)) * softmax(-r / temperature)``, where ``f`` is each task's
    floor, and the proportions move toward it, ``p = momentum * p + (1 - momentum) * goal``.
    Relative changes make losses of different scales comparable; the floors keep every task
    learning, and a task given its uniform share as its floor never gets less than uniform
    sampling would give it. A task without a validation loss keeps the mean improvement of the
    others.

    Args:
        temperature: how strongly a gap in relative improvement shifts the proportions.
        floor: the least proportion of any task.
        momentum: the share of the old proportions kept at each update.
        seed: seed of the draws.
        task_floors: floors of single tasks by name, in place of ``floor``, e.g.
            ``{deconv: 0.25}``.
    """

    def __init__(
        self,
        temperature: float = 0.05,
        floor: float = 0.05,
        momentum: float = 0.5,
        seed: int = 0,
        task_floors: dict[str, float] | None = None,
    ) -> None:
        super().__init__(seed)
        if not temperature > 0:
            raise ConfigError(f"model.sampler.temperature must be > 0, got {temperature}")
        if not 0 <= momentum < 1:
            raise ConfigError(f"model.sampler.momentum must lie in [0, 1), got {momentum}")
        self.temperature, self.floor, self.momentum = temperature, floor, momentum
        self.task_floors = dict(task_floors or {})
        self.previous: dict[str, float] = {}

    def start(self, names: list[str]) -> None:
        check_known_tasks("model.sampler.task_floors", self.task_floors, names)
        floors = [self.floor_of(name) for name in names]
        if min(floors) < 0 or sum(floors) >= 1:
            given = f" with task_floors={self.task_floors}" if self.task_floors else ""
            raise ConfigError(
                f"model.sampler.floor={self.floor}{given} leaves nothing to share among "
                f"{len(names)} tasks; the floors must sum below 1"
            )
        super().start(names)

    def floor_of(self, name: str) -> float:
        """The least proportion of the task ``name``."""
        return self.task_floors.get(name, self.floor)

    def improvements(self, losses: dict[str, float]) -> dict[str, float]:
        """Relative improvement of each task since the last validation."""
        found = {
            name: (self.previous[name] - losses[name]) / max(abs(self.previous[name]), 1e-12)
            for name in self.names
            if math.isfinite(losses.get(name, math.nan)) and name in self.previous
        }
        return with_mean(found, self.names)

    def claims(self, losses: dict[str, float]) -> dict[str, float] | None:
        """How strongly each task claims the coming steps (the strongest gets most): here how
        far it lags, the negative of its improvement; None before the second validation, when
        there is no improvement to measure yet."""
        if not self.previous:
            return None
        return {name: -gain for name, gain in self.improvements(losses).items()}

    def update(self, step: int, losses: dict[str, float]) -> None:
        claims = self.claims(losses)
        if claims is not None:
            scores = np.array([claims[name] / self.temperature for name in self.names])
            soft = np.exp(scores - scores.max())
            floors = np.array([self.floor_of(name) for name in self.names])
            goal = floors + (1 - floors.sum()) * soft / soft.sum()
            self.proportions = {
                name: float(self.momentum * self.proportions[name] + (1 - self.momentum) * share)
                for name, share in zip(self.names, goal, strict=True)
            }
            self.record(step)
        self.previous.update({k: v for k, v in losses.items() if math.isfinite(v)})

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "previous": self.previous}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.previous = dict(state.get("previous", {}))


class TargetSampler(ActiveSampler):
    """Active sampling toward a target validation loss per task (Sharma et al. 2018, "Learning
    to Multi-Task by Active Sampling").

    The rule: at every validation each task's lag is its relative excess over its target,
    ``m = (L - T) / T``, and the proportions move toward
    ``f + (1 - sum(f)) * softmax(m / temperature)`` as in :class:`ActiveSampler`. A task
    far above its target gets most steps, one at or below it few; a target is typically what
    the task reaches trained alone. A task without a validation loss keeps the mean lag.

    Args:
        targets: the validation loss each task aims for, by name (positive).
        temperature, floor, momentum, seed, task_floors: as in :class:`ActiveSampler`.
    """

    def __init__(
        self,
        targets: dict[str, float],
        temperature: float = 0.1,
        floor: float = 0.05,
        momentum: float = 0.5,
        seed: int = 0,
        task_floors: dict[str, float] | None = None,
    ) -> None:
        super().__init__(temperature, floor, momentum, seed, task_floors)
        self.targets = positive_values("model.sampler.targets", targets, "losses")

    def start(self, names: list[str]) -> None:
        check_every_task("model.sampler.targets", self.targets, names, "target")
        super().start(names)

    def claims(self, losses: dict[str, float]) -> dict[str, float]:
        found = {
            name: (losses[name] - self.targets[name]) / self.targets[name]
            for name in self.names
            if math.isfinite(losses.get(name, math.nan))
        }
        return with_mean(found, self.names)


class ProgressSampler(ActiveSampler):
    """Active sampling toward the tasks learning fastest: learning progress, after Matiisen et
    al. 2019 ("Teacher–Student Curriculum Learning").

    The rule: at validation ``v`` each task's progress is the size of its relative change,
    ``|r|`` with ``r = (L[v-1] - L[v]) / |L[v-1]|``, and the proportions move toward
    ``f + (1 - sum(f)) * softmax(|r| / temperature)`` as in :class:`ActiveSampler`. The
    opposite of that sampler's rule: a task that has stopped improving gets few steps, one
    whose loss still falls gets many, and one whose loss rises (forgetting) gets many too. A
    task without a validation loss is given the others' mean improvement.

    Args:
        temperature, floor, momentum, seed, task_floors: as in :class:`ActiveSampler`.
    """

    def claims(self, losses: dict[str, float]) -> dict[str, float] | None:
        lags = super().claims(losses)
        return None if lags is None else {name: abs(lag) for name, lag in lags.items()}
