"""Checkpoints that carry the main process's random state into a resumed fit."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import lightning as L

from galvision.data.random_state import process_random_state, restore_process_random_state


def loaders_in(iterables: Any) -> Iterator[Any]:
    """Every loader of a fit's training iterables (a loader, a combined one, or a collection)."""
    if hasattr(iterables, "flattened"):
        iterables = iterables.flattened
    if isinstance(iterables, Mapping):
        iterables = list(iterables.values())
    if isinstance(iterables, list | tuple):
        for item in iterables:
            yield from loaders_in(item)
    elif iterables is not None:
        yield iterables


class RandomStateCheckpoint(L.Callback):
    """Saves the main process's random state in every checkpoint and puts it back just before
    the first training step of a resumed fit, so that the task draws the same noise, masks and
    views as it would have without the interruption.

    It waits for the first step because loading the checkpoint and starting the loaders draw
    random numbers of their own. A loader without workers draws its samples in the main process
    and puts the state back itself (``RandomStateDataset``) before its first sample; then this
    callback leaves the state alone.
    """

    def __init__(self) -> None:
        self.pending: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        """The main process's random state, as the checkpoint is written."""
        return process_random_state()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Keep the checkpoint's random state for the first training step."""
        self.pending = state_dict

    def on_train_batch_start(self, trainer: L.Trainer, *args: Any) -> None:
        if self.pending is None:
            return
        loaders = list(loaders_in(trainer.train_dataloader))
        if all(getattr(loader, "num_workers", 0) > 0 for loader in loaders):
            restore_process_random_state(self.pending)
        self.pending = None
