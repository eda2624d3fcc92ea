"""What tasks ask of a backbone, written down: pooled features, dense maps, visible tokens.

Any module with these attributes and methods works in the tasks that need them; the
``require_*`` checks name what a module lacks in one line instead of an ``AttributeError``
deep inside a forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import torch

from galvision.errors import ConfigError


@runtime_checkable
class PooledBackbone(Protocol):
    """One embedding per image: enough for classification and embeddings."""

    in_chans: int  # bands of the input
    img_size: int  # side of the square input in pixels
    embed_dim: int  # width of the embedding

    def forward_pooled(self, x: torch.Tensor) -> torch.Tensor:
        """(B, embed_dim) from images (B, in_chans, img_size, img_size)."""


@runtime_checkable
class DenseBackbone(PooledBackbone, Protocol):
    """Feature maps of chosen blocks at the patch stride: enough for dense heads."""

    patch_size: int  # stride of the maps in pixels
    depth: int  # number of blocks

    def block_indices(self, count: int) -> list[int]:
        """``count`` evenly spaced block indices ending with the last block."""

    def forward_maps(self, x: torch.Tensor, indices: Sequence[int]) -> list[torch.Tensor]:
        """(B, embed_dim, img_size / patch_size, img_size / patch_size) per block index."""


@runtime_checkable
class TokenBackbone(DenseBackbone, Protocol):
    """Patch tokens of a visible subset: what masked autoencoding needs."""

    num_prefix_tokens: int  # class / register tokens in front of the patch tokens
    grid_size: int  # patches along one side

    def forward_visible(self, x: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """(B, prefix + n, embed_dim) tokens of the ``visible`` (B, n) patches only."""


def missing_members(backbone: object, contract: type) -> list[str]:
    """The attributes and methods of ``contract`` that ``backbone`` lacks."""
    names = [
        name
        for klass in contract.__mro__
        if klass not in (Protocol, object) and getattr(klass, "_is_protocol", False)
        for name in (*getattr(klass, "__annotations__", {}), *vars(klass))
        if not name.startswith("_")
    ]
    return [name for name in dict.fromkeys(names) if not hasattr(backbone, name)]


def require_backbone(backbone: object, contract: type, who: str) -> None:
    """Raise a one-line ConfigError unless ``backbone`` meets ``contract`` for ``who``."""
    missing = missing_members(backbone, contract)
    if missing:
        raise ConfigError(
            f"model.backbone: {type(backbone).__name__} lacks {', '.join(missing)}, which "
            f"{who} needs ({contract.__name__})"
        )
