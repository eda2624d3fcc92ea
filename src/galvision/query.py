"""Queries over aligned image embeddings: the catalogue rows nearest a sentence or a symbol."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from galvision.errors import ConfigError, DataError

if TYPE_CHECKING:
    from galvision.tasks.alignment import AlignmentTask


def nearest(
    embeddings: torch.Tensor, query: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine similarities and row numbers of the ``k`` embeddings nearest ``query`` (D,)."""
    if embeddings.ndim != 2 or not len(embeddings):
        raise DataError(
            f"query: embeddings must be a non-empty (N, D) table, got {tuple(embeddings.shape)}"
        )
    if embeddings.shape[1] != query.shape[-1]:
        raise DataError(
            f"query: the embeddings are {embeddings.shape[1]}-d but the model's space is "
            f"{query.shape[-1]}-d (embedded by another model?)"
        )
    similarity = F.normalize(embeddings.float(), dim=1) @ F.normalize(query.float(), dim=-1)
    return similarity.topk(min(k, len(similarity)))


@torch.no_grad()
def rank_by_text(
    task: AlignmentTask, embeddings: torch.Tensor, text: str, k: int = 16
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` rows of ``embeddings`` (the task's image embeddings) best matching ``text``."""
    if not text.strip():
        raise ConfigError("query: the text is empty; describe the galaxies to find")
    return nearest(embeddings, task.embed_text([text])[0], k)


@torch.no_grad()
def rank_by_symbol(
    task: AlignmentTask, embeddings: torch.Tensor, symbol: np.ndarray | torch.Tensor, k: int = 16
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` rows of ``embeddings`` best matching a (H, W) symbol drawing in [0, 1]."""
    drawing = torch.as_tensor(symbol, dtype=torch.float32)
    size = task.backbone.img_size
    if drawing.shape != (size, size):
        raise DataError(
            f"query: the symbol is {tuple(drawing.shape)}, the model draws {size}×{size} symbols"
        )
    if not drawing.any():
        raise ConfigError("query: the symbol is blank; draw the shape to find")
    return nearest(embeddings, task.embed_symbols(drawing[None, None].to(task.device))[0], k)
