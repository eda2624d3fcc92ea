"""Re-draw the seeing: observe each clean galaxy of a batch through another sample's PSF."""

from __future__ import annotations

import torch

from galvision.data import keys
from galvision.transforms.base import TRAIN, BatchTransform


def random_cycle(count: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Source indices (count,) of one random cycle through all samples: none keeps its own."""
    order = torch.randperm(count, device=device)
    source = torch.empty_like(order)
    source[order] = order.roll(1)
    return source


class RedrawPSF(BatchTransform):
    """In training, give each clean galaxy the observing PSF of another sample in the batch.

    The ``PSF`` and its ``PSF_FWHM`` move along one random cycle through the batch, so that an
    ``Observe`` after it shows every galaxy through seeing other than its own; ``TARGET_PSF``
    stays. Batches without ``CLEAN`` (real observations, seen through their own PSF), batches
    sharing one PSF and other stages pass unchanged.
    """

    def __call__(self, batch: dict, stage: str) -> dict:
        """The batch with its observing PSFs exchanged among samples in the ``train`` stage."""
        if stage != TRAIN or keys.CLEAN not in batch or keys.PSF not in batch:
            return batch
        psf = batch[keys.PSF]
        if len(psf) != len(batch[keys.CLEAN]):
            return batch
        source = random_cycle(len(psf), psf.device)
        moved = {key: batch[key][source] for key in (keys.PSF, keys.PSF_FWHM) if key in batch}
        return {**batch, **moved}
