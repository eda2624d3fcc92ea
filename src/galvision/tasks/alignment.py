"""AlignmentTask: galaxy images, schematic symbols and captions aligned contrastively (CLIP-style).

Galaxy Zoo volunteers classify by matching a galaxy to schematic symbols and their
descriptions; aligning the three modalities (GalaxAlign) lets a model classify from words or
drawings with no image label, and be queried in words. Every pair of modalities
(``image_text``, ``image_symbol``, ``symbol_text``) gets CLIP's symmetric InfoNCE with one
learnable temperature; negatives are gathered from every rank under DDP, so they span the
global batch. Evaluation logs zero-shot accuracy from class prompts (``zero_shot_text``), from
class symbols (``zero_shot_symbol``) and from both, and in-batch image→text retrieval.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy

from galvision.data import keys
from galvision.data.captions import class_prompts
from galvision.data.simulate.classes import CLASS_NAMES
from galvision.data.simulate.symbols import class_symbol
from galvision.errors import ConfigError
from galvision.metrics import retrieval_hits
from galvision.models.alignment import PAIRS, AlignmentNetwork
from galvision.tasks.base import GalaxyTask
from galvision.transforms import BatchTransform, Observe, RandomDihedral
from galvision.transforms.dihedral import DIHEDRAL_ORDER, dihedral_views

PROTOTYPE_SYMBOLS = 16  # varied symbols averaged into each class's symbol prototype
PROTOTYPE_SEED = 1234


def symmetric_info_nce(
    local: dict[str, torch.Tensor],
    gathered: dict[str, torch.Tensor],
    pair: str,
    scale: torch.Tensor,
    offset: int,
) -> torch.Tensor:
    """CLIP's loss for one pair: each local row against every gathered row of the other side."""
    a, b = pair.split("_")
    targets = torch.arange(len(local[a]), device=local[a].device) + offset
    a_to_b = scale * local[a] @ gathered[b].T
    b_to_a = scale * local[b] @ gathered[a].T
    return 0.5 * (F.cross_entropy(a_to_b, targets) + F.cross_entropy(b_to_a, targets))


class AlignmentTask(GalaxyTask):
    """Images, symbols and captions of the simulated survey pulled into one embedding space.

    Args:
        backbone: the shared foundation backbone (start from the foundation artefact).
        dim: width of the shared space.
        text_encoder: ``minilm`` (the packaged all-MiniLM-L6-v2, offline) or ``small`` (a
            two-layer word transformer trained here).
        text_tuned_layers: MiniLM layers trained with the task (0: frozen).
        symbol_encoder: ``cnn`` (a small convolutional tower) or ``backbone`` (the shared one,
            with its own projection).
        pair_weights: weight of each pair's loss; a missing pair counts 0.
        pair_start: training step at which each pair starts to count (a staged schedule); a
            missing pair counts from the start.
        class_names: the classes zero-shot prompts and symbols are made for.
        **kwargs: transforms, optimizer, lr_scheduler, layer_decay, freeze_backbone (see
            GalaxyTask).
    """

    monitor = ("val/zero_shot_text", "max")
    name = "align"

    def __init__(
        self,
        backbone: nn.Module,
        dim: int = 128,
        text_encoder: Literal["minilm", "small"] = "minilm",
        text_tuned_layers: int = 0,
        symbol_encoder: Literal["cnn", "backbone"] = "cnn",
        pair_weights: dict[str, float] | None = None,
        pair_start: dict[str, int] | None = None,
        class_names: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(backbone, **kwargs)
        self.pair_weights = dict(pair_weights or dict.fromkeys(PAIRS, 1.0))
        self.pair_start = dict(pair_start or {})
        for option, table in (("pair_weights", self.pair_weights), ("pair_start", self.pair_start)):
            unknown = sorted(set(table) - set(PAIRS))
            if unknown:
                raise ConfigError(
                    f"model.{option} has unknown pair(s) {unknown}; allowed: {list(PAIRS)}"
                )
        if not any(weight > 0 for weight in self.pair_weights.values()):
            raise ConfigError(
                f"model.pair_weights={self.pair_weights} must weight some pair above 0"
            )
        if all(self.pair_start.get(p, 0) > 0 for p, w in self.pair_weights.items() if w > 0):
            raise ConfigError(
                f"model.pair_start={self.pair_start} must let some weighted pair start at step 0"
            )
        for choice, allowed in (
            (text_encoder, ("minilm", "small")),
            (symbol_encoder, ("cnn", "backbone")),
        ):
            if choice not in allowed:
                raise ConfigError(f"model: {choice!r} is not one of {list(allowed)}")
        self.class_names = list(class_names or CLASS_NAMES)
        unknown = sorted(set(self.class_names) - set(CLASS_NAMES))
        if unknown:
            raise ConfigError(
                f"model.class_names: {unknown} have no prompts or symbols; "
                f"known: {list(CLASS_NAMES)}"
            )
        self.network = AlignmentNetwork(
            backbone,
            bands=backbone.in_chans,
            dim=dim,
            text_encoder=text_encoder,
            symbol_encoder=symbol_encoder,
            text_tuned_layers=text_tuned_layers,
        )
        classes = len(self.class_names)
        zero_shot = {
            name: MulticlassAccuracy(classes, average="micro")
            for name in ("zero_shot_text", "zero_shot_symbol", "zero_shot_both")
        }
        health = {"retrieval_image_text": MeanMetric()}
        self.add_metrics(MetricCollection({**zero_shot, **health}), ("val", "test"))

    @staticmethod
    def default_transforms() -> list[BatchTransform]:
        """The survey observation, then random rotations and flips in training."""
        return [Observe(), RandomDihedral()]

    # -- embeddings -------------------------------------------------------------------------
    def embed_images(self, image: torch.Tensor) -> torch.Tensor:
        """Unit embeddings (B, dim) of display-space images."""
        return self.network.embed("image", image)

    def embed_text(self, sentences: list[str]) -> torch.Tensor:
        """Unit embeddings (B, dim) of sentences."""
        return self.network.embed("text", list(sentences))

    def embed_symbols(self, symbols: torch.Tensor) -> torch.Tensor:
        """Unit embeddings (B, dim) of (B, 1, H, W) symbols."""
        return self.network.embed("symbol", symbols)

    def class_text_embeddings(self, prompts: dict[str, list[str]] | None = None) -> torch.Tensor:
        """(K, dim): each class's prompts embedded, averaged and renormalised."""
        prompts = prompts or {name: class_prompts(name) for name in self.class_names}
        empty = [name for name, sentences in prompts.items() if not sentences]
        if empty:
            raise ConfigError(f"prompts: class(es) {empty} have no sentence")
        rows = [self.embed_text(sentences).mean(0) for sentences in prompts.values()]
        return F.normalize(torch.stack(rows), dim=-1)

    def class_symbol_embeddings(
        self, names: list[str] | None = None, size: int | None = None
    ) -> torch.Tensor:
        """(K, dim): varied symbols of each class embedded, averaged and renormalised."""
        size = size or self.backbone.img_size
        rng = np.random.default_rng(PROTOTYPE_SEED)
        rows = []
        for name in names or self.class_names:
            drawings = np.stack([class_symbol(name, rng, size) for _ in range(PROTOTYPE_SYMBOLS)])
            symbols = torch.from_numpy(drawings)[:, None].to(self.device)
            rows.append(self.embed_symbols(symbols).mean(0))
        return F.normalize(torch.stack(rows), dim=-1)

    # -- training ---------------------------------------------------------------------------
    def _active_pairs(self) -> dict[str, float]:
        """Pairs that count at this step, with their weights."""
        step = self.global_step if self.training else float("inf")
        return {
            pair: weight
            for pair, weight in self.pair_weights.items()
            if weight > 0 and step >= self.pair_start.get(pair, 0)
        }

    def _gather(self, embeddings: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], int]:
        """Every rank's embeddings (gradients flow to the local ones) and this rank's offset."""
        world = self.trainer.world_size if self._trainer is not None else 1
        if world == 1:
            return embeddings, 0
        gathered = {
            name: self.all_gather(value, sync_grads=True).flatten(0, 1)
            for name, value in embeddings.items()
        }
        local = next(iter(embeddings.values()))
        return gathered, self.global_rank * len(local)

    def compute(self, batch: dict) -> dict[str, Any]:
        """Embeddings of the three modalities and the weighted sum of the pairs' losses."""
        image = keys.require(batch, keys.IMAGE, "AlignmentTask")
        symbol = keys.require(
            batch, keys.SYMBOL, "AlignmentTask", "use galvision.data.aligned.AlignmentDataModule"
        )
        text = keys.require(
            batch, keys.TEXT, "AlignmentTask", "use galvision.data.aligned.AlignmentDataModule"
        )
        local = {
            "image": self.embed_images(image),
            "symbol": self.embed_symbols(symbol.to(image)),
            "text": self.embed_text(text),
        }
        gathered, offset = self._gather(local)
        scale = self.network.scale()
        pairs = self._active_pairs()
        loss = sum(
            weight * symmetric_info_nce(local, gathered, pair, scale, offset)
            for pair, weight in pairs.items()
        ) / max(sum(pairs.values()), 1e-12)
        outputs = {f"{name}_embedding": value for name, value in local.items()}
        negatives = torch.tensor(float(len(gathered["image"])))
        return {"loss": loss, "temperature": 1 / scale.detach(), "negatives": negatives, **outputs}

    def shared_step(self, batch: dict, stage: str) -> dict[str, Any]:
        """The template's step, logging the learnt temperature and the negatives per row."""
        outputs = super().shared_step(batch, stage)
        if stage == "train":
            logged = {name: outputs[name] for name in ("temperature", "negatives")}
            self.log_dict(
                {f"train/{k}": v for k, v in logged.items()}, on_step=True, on_epoch=False
            )
        return outputs

    def on_validation_epoch_start(self) -> None:
        self._prototypes = None  # the towers changed: embed the prompts and symbols afresh

    def on_test_epoch_start(self) -> None:
        self._prototypes = None

    @torch.no_grad()
    def class_prototypes(self) -> dict[str, torch.Tensor]:
        """Zero-shot prototypes of every class: from prompts, from symbols, and from both."""
        text = self.class_text_embeddings()
        symbol = self.class_symbol_embeddings()
        return {"text": text, "symbol": symbol, "both": F.normalize(text + symbol, dim=-1)}

    @torch.no_grad()
    def zero_shot_probabilities(
        self, embeddings: torch.Tensor, prototypes: torch.Tensor
    ) -> torch.Tensor:
        """Class probabilities of image embeddings from class prototypes (K, dim) in their space."""
        return (self.network.scale() * embeddings @ prototypes.T).softmax(1)

    @torch.no_grad()
    def class_probabilities(self, image: torch.Tensor) -> torch.Tensor:
        """Zero-shot (B, K) probabilities of ``class_names`` from their prompts, averaged over
        the 8 right-angle turns and flips of each image (no image label needed)."""
        views = dihedral_views(image)
        prototypes = self.class_text_embeddings()
        probabilities = self.zero_shot_probabilities(self.embed_images(views), prototypes)
        return probabilities.reshape(DIHEDRAL_ORDER, len(image), -1).mean(0)

    def update_metrics(self, metrics: MetricCollection, outputs: dict, batch: dict) -> None:
        """Zero-shot accuracy by prompts, symbols and both; in-batch image→text retrieval."""
        images = outputs["image_embedding"]
        label = batch.get(keys.LABEL)
        if label is not None:
            if getattr(self, "_prototypes", None) is None:
                self._prototypes = self.class_prototypes()
            for name, prototypes in self._prototypes.items():
                metrics[f"zero_shot_{name}"].update((images @ prototypes.T).argmax(1), label)
        hits = retrieval_hits(images, outputs["text_embedding"]).float()
        metrics["retrieval_image_text"].update(hits)

    def predict_batch(self, batch: dict) -> dict[str, Any]:
        """Unit image embeddings in the shared space, with the image names."""
        return {"embedding": self.embed_images(batch[keys.IMAGE]), keys.NAME: batch.get(keys.NAME)}
