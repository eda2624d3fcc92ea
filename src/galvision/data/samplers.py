"""Weighted training draws that a checkpoint can resume mid-epoch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import WeightedRandomSampler


class ResumableWeightedSampler(WeightedRandomSampler):
    """torch's ``WeightedRandomSampler`` (with replacement) on a generator of its own, seeded
    from the global one, so that an epoch's draws can be made again from the generator's state
    at its start."""

    def __init__(self, weights: torch.Tensor, num_samples: int) -> None:
        generator = torch.Generator()
        generator.manual_seed(int(torch.randint(2**62, ()).item()))
        super().__init__(weights, num_samples, replacement=True, generator=generator)

    def draw(self) -> list[int]:
        """One epoch of rows."""
        return list(super().__iter__())

    def __iter__(self) -> Iterator[int]:
        return WeightedDraws(self)


class WeightedDraws(Iterator[int]):
    """One epoch of a :class:`ResumableWeightedSampler`, whose state (the generator at the
    epoch's start, the rows given) torchdata's ``StatefulDataLoader`` keeps in checkpoints."""

    def __init__(self, sampler: ResumableWeightedSampler) -> None:
        self.sampler = sampler
        self.start = sampler.generator.get_state()
        self.rows = sampler.draw()
        self.given = 0

    def __next__(self) -> int:
        if self.given == len(self.rows):
            raise StopIteration
        self.given += 1
        return self.rows[self.given - 1]

    def state_dict(self) -> dict[str, Any]:
        """The generator's state at the epoch's start and the rows given so far."""
        return {"generator": self.start, "given": self.given}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Draw the saved epoch again and carry on after the rows it had given."""
        self.start = state["generator"]
        self.sampler.generator.set_state(self.start)
        self.rows = self.sampler.draw()
        self.given = state["given"]
