"""The random state of a process, saved in checkpoints and put back on resume.

Training draws noise, PSFs, masks and views from each process's global generators: a loader
worker's own for what a dataset draws, the main process's for what a task draws. Saving both
with a checkpoint lets a resumed fit draw exactly what an uninterrupted one would have.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset


def numpy_state() -> dict[str, Any]:
    """NumPy's global state as tensors and numbers, which a checkpoint loads without pickle."""
    _, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    return {
        "keys": torch.from_numpy(keys.astype(np.int64)),
        "position": int(position),
        "has_gauss": int(has_gauss),
        "cached_gaussian": float(cached_gaussian),
    }


def restore_numpy_state(state: dict[str, Any]) -> None:
    """Put back what :func:`numpy_state` saved."""
    keys = state["keys"].numpy().astype(np.uint32)
    np.random.set_state(
        ("MT19937", keys, state["position"], state["has_gauss"], state["cached_gaussian"])
    )


def process_random_state() -> dict[str, Any]:
    """The global generators' states of this process: Python's, NumPy's, torch's (and CUDA's)."""
    state = {
        "python": random.getstate(),
        "numpy": numpy_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_process_random_state(state: dict[str, Any]) -> None:
    """Put back what :func:`process_random_state` saved."""
    random.setstate(state["python"])
    restore_numpy_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class RandomStateDataset(Dataset):
    """A training set whose loader checkpoints the random state of the process drawing its
    samples (each loader worker's own), so that a resumed epoch draws the same samples anew."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[index]

    def state_dict(self) -> dict[str, Any]:
        """The random state of the process this copy of the set runs in."""
        return process_random_state()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Put the process's random state back before the resumed epoch's first sample."""
        restore_process_random_state(state)
