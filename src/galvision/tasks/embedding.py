"""EmbeddingTask: a catalogue's foundation embeddings (and aligned ones) written by ``predict``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchmetrics import MetricCollection

from galvision.checkpoints import load_checkpoint_task
from galvision.data import keys
from galvision.errors import ConfigError
from galvision.tasks.alignment import AlignmentTask
from galvision.tasks.base import GalaxyTask


class EmbeddingNetwork(nn.Module):
    """The backbone alone: its pooled features are the embedding."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.backbone.forward_pooled(image)


class EmbeddingTask(GalaxyTask):
    """A frozen foundation backbone embedding catalogues (``galvision predict``), nothing trained.

    Each sample gets ``embedding`` (the backbone's pooled features) and, with ``alignment``,
    ``aligned`` (the alignment head's unit image embedding, queryable by text and symbols).

    Args:
        backbone: the foundation backbone (its ``weights``: a foundation, export or checkpoint).
        alignment: checkpoint of an ``AlignmentTask`` (``galvision fit --config
            tasks/align.yaml``) whose image tower also embeds every sample.
        **kwargs: transforms (default: the survey observation of simulated galaxies).
    """

    name = "embed"

    def __init__(self, backbone: nn.Module, alignment: str | None = None, **kwargs: Any) -> None:
        super().__init__(backbone, freeze_backbone=True, **kwargs)
        self.network = EmbeddingNetwork(backbone)
        self.aligner = None
        if alignment is not None:
            path = Path(alignment)
            if not path.is_file():
                raise ConfigError(f"model.alignment: no such checkpoint {alignment}")
            self.aligner = load_checkpoint_task(path, AlignmentTask)
            self.aligner.requires_grad_(False)

    def compute(self, batch: dict) -> dict[str, Any]:
        raise ConfigError(
            "EmbeddingTask only embeds: run `galvision predict --config tasks/embed.yaml`"
        )

    def update_metrics(self, metrics: MetricCollection, outputs: dict, batch: dict) -> None:
        """No metrics: nothing is trained or scored."""

    def predict_batch(self, batch: dict) -> dict[str, Any]:
        """Pooled embeddings (and aligned ones), with the rows and names they belong to."""
        image = batch[keys.IMAGE]
        outputs = {
            "embedding": self.network(image),
            keys.ROW: batch.get(keys.ROW),
            keys.NAME: batch.get(keys.NAME),
        }
        if self.aligner is not None:
            outputs["aligned"] = self.aligner.embed_images(image)
        return outputs
