"""The transform contract: one on-device step of batch preparation, told the stage it serves.

Transforms take and return a batch dict (``galvision.data.keys``). In the ``train`` stage
their randomness is fresh at every step; in every other stage it is seeded by each sample's
dataset ``INDEX``, so an evaluation set is the same at every epoch, on any number of devices
and with any batch size.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch

from galvision.data import keys
from galvision.data.keys import require

TRAIN = "train"
STAGES = (TRAIN, "val", "test", "predict")
_SEED_STRIDE = 1_000_003  # a prime, so the streams of different seeds do not overlap early


class BatchTransform(ABC):
    """A degradation or augmentation of a batch, applied on the device."""

    @abstractmethod
    def __call__(self, batch: dict, stage: str) -> dict:
        """The transformed batch for ``stage`` (``train``, ``val``, ``test`` or ``predict``)."""

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({settings})"


def apply_transforms(transforms: Sequence[BatchTransform], batch: dict, stage: str) -> dict:
    """``batch`` through every transform in order."""
    for transform in transforms:
        batch = transform(batch, stage)
    return batch


def sample_generator(seed: int, index: int) -> torch.Generator:
    """A CPU generator fixed by a transform's ``seed`` and one sample's dataset index."""
    return torch.Generator().manual_seed(seed * _SEED_STRIDE + int(index))


def evaluation_indices(batch: dict, who: str) -> torch.Tensor:
    """The batch's dataset indices, which seed every evaluation draw."""
    return require(batch, keys.INDEX, who, "evaluation draws are seeded by each sample's index")
