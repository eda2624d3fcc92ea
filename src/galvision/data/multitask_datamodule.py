"""The data of a MultiTask: each task's own datamodule, served side by side."""

from __future__ import annotations

from lightning.pytorch.core.mixins.hparams_mixin import _given_hyperparameters
from lightning.pytorch.utilities import CombinedLoader

from galvision.data.datamodules import GalaxyDataModule
from galvision.errors import ConfigError


class MultiTaskDataModule(GalaxyDataModule):
    """Every task's datamodule, by task name, combined with Lightning's ``CombinedLoader``.

    A training step receives one batch of every task (``max_size_cycle``: shorter sets start
    over) and the MultiTask's sampler picks the one it learns from; reading is cheap next to a
    step, and Lightning gives each loader its distributed sampler under DDP. Validation and
    test run through every task's loader in turn (``sequential``).

    Args:
        datamodules: a datamodule per task name, e.g. ``{deconv: ../configs/data/sky.yaml}``.
    """

    def __init__(self, datamodules: dict[str, GalaxyDataModule]) -> None:
        super().__init__(batch_size=0, num_workers=0)
        # From the CLI the hyperparameters are the config, which rebuilds every datamodule.
        from_cli = _given_hyperparameters.get() is not None
        self.save_hyperparameters(ignore=None if from_cli else ["datamodules"])
        if not datamodules:
            raise ConfigError("data.datamodules is empty; give one datamodule per task name")
        self.datamodules = dict(datamodules)

    def prepare_data(self) -> None:
        for datamodule in self.datamodules.values():
            datamodule.prepare_data()

    def setup(self, stage: str) -> None:
        for datamodule in self.datamodules.values():
            datamodule.trainer = self.trainer
            datamodule.setup(stage)

    def combined(self, loader: str, mode: str) -> CombinedLoader:
        """Every task's ``loader`` (e.g. ``val_dataloader``) by name, combined in ``mode``."""
        return CombinedLoader(
            {name: getattr(dm, loader)() for name, dm in self.datamodules.items()}, mode
        )

    def train_dataloader(self) -> CombinedLoader:
        return self.combined("train_dataloader", "max_size_cycle")

    def val_dataloader(self) -> CombinedLoader:
        return self.combined("val_dataloader", "sequential")

    def test_dataloader(self) -> CombinedLoader:
        return self.combined("test_dataloader", "sequential")

    def predict_dataloader(self) -> None:
        raise ConfigError(
            "a multi-task run does not predict; export one task with `galvision export --ckpt "
            "CKPT --task NAME --output task.ckpt` and predict with its own config"
        )
