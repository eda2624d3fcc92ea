"""A fit stopped mid-epoch and resumed from its checkpoint carries on where the epoch stopped."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from galvision.data import keys
from galvision.data.datamodules import GalaxyDataModule

GALAXIES = 12
BATCH = 3  # four steps an epoch


class NumberedGalaxies(GalaxyDataModule):
    """Twelve one-pixel galaxies, each numbered by its ``INDEX``."""

    def setup(self, stage: str) -> None:
        self.datasets["train"] = [
            {keys.INDEX: i, keys.IMAGE: torch.full((1,), float(i))} for i in range(GALAXIES)
        ]


class RecordsGalaxies(L.LightningModule):
    """Keeps the number of every galaxy it trains on, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.seen: list[int] = []

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        self.seen += batch[keys.INDEX].tolist()
        return (self.weight * batch[keys.IMAGE]).sum()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def galaxies_seen(root: Path, steps: int, workers: int, resume: bool = False) -> list[int]:
    """The galaxies a fit of ``steps`` steps trains on (``resume``: from ``root``'s last.ckpt)."""
    L.seed_everything(0)
    model = RecordsGalaxies()
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=steps,
        default_root_dir=root,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[ModelCheckpoint(root, save_last=True, every_n_train_steps=1)],
    )
    data = NumberedGalaxies(batch_size=BATCH, num_workers=workers)
    trainer.fit(model, data, ckpt_path=root / "last.ckpt" if resume else None)
    return model.seen


@pytest.mark.parametrize("workers", [0, 2])
def test_a_fit_resumed_mid_epoch_sees_the_rest_of_that_epoch(tmp_path: Path, workers: int):
    whole = galaxies_seen(tmp_path / "whole", 7, workers)
    first = galaxies_seen(tmp_path / "stopped", 2, workers)
    rest = galaxies_seen(tmp_path / "stopped", 7, workers, resume=True)
    assert first + rest == whole
    # Stopped after two of four steps, the first epoch still holds every galaxy once.
    assert sorted((first + rest)[:GALAXIES]) == list(range(GALAXIES))
