"""PublishFoundation: at the end of training, the backbone becomes a named foundation."""

from __future__ import annotations

import lightning as L
from lightning.pytorch import Callback

from galvision.backbones.export import FOUNDATION, publish_foundation


class PublishFoundation(Callback):
    """Export the trained backbone into the cache as foundation ``name`` (rank 0, end of fit).

    Every task then starts from it with ``backbone.init_args.weights: <name>``.
    """

    def __init__(self, name: str = FOUNDATION) -> None:
        self.name = name

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            folder = publish_foundation(pl_module.backbone, self.name)
            print(f"foundation {self.name!r} written to {folder}")
