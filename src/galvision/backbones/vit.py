"""Backbone: any timm Vision Transformer, N bands, with token, pooled and dense-map outputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from timm.models import is_model_in_modules
from torch import nn

from galvision.backbones.stamp_input import StampInput, create_timm_model
from galvision.errors import ConfigError

HYBRID_MODULE = "vision_transformer_hybrid"  # timm's ViTs behind a convolutional stem
# What the wrapper reaches inside a timm VisionTransformer (Swin, for one, has none of these).
TIMM_VIT_MEMBERS = (
    "patch_embed",
    "_pos_embed",
    "norm_pre",
    "blocks",
    "norm",
    "num_prefix_tokens",
    "forward_intermediates",
)


def create_timm_vit(
    name: str, in_chans: int, img_size: int, patch_size: int, **kwargs: object
) -> nn.Module:
    """timm ViT ``name`` whose tokens each cover ``patch_size`` × ``patch_size`` pixels.

    A hybrid ViT (a convolutional stem feeding the transformer, e.g. ``vit_tiny_r_s16_p8_224``)
    tiles the stem's feature map rather than the image, so its timm ``patch_size`` is the
    token's side divided by the stem's stride.
    """
    if not is_model_in_modules(name, [HYBRID_MODULE]):
        return create_timm_model(name, in_chans, img_size=img_size, patch_size=patch_size, **kwargs)
    # The stem's stride, read off the architecture at its own default size.
    stride = create_timm_model(name, in_chans).patch_embed.feature_ratio[0]
    if patch_size % stride:
        raise ConfigError(
            f"backbone: patch_size={patch_size} is not a multiple of the {stride}-pixel stride "
            f"of {name!r}'s convolutional stem"
        )
    return create_timm_model(
        name, in_chans, img_size=img_size, patch_size=patch_size // stride, **kwargs
    )


def token_size(model: nn.Module) -> int:
    """Side in pixels of the image square behind one token of a timm ViT."""
    return int(model.patch_embed.feat_ratio())


class Backbone(StampInput, nn.Module):
    """A timm ViT built for galaxy stamps: ``in_chans`` bands at ``img_size`` with ``patch_size``.

    It meets :class:`~galvision.backbones.contract.TokenBackbone`, so every task can use it.

    Args:
        name: timm model name; its architecture (depth, width, heads, stem) is kept, its
            default image and patch size are replaced by ``img_size`` and ``patch_size``.
            Hybrid ViTs such as ``vit_tiny_r_s16_p8_224`` (a convolutional stem, the locality
            prior that lets a ViT learn from a few thousand galaxies) work as plain ones.
        in_chans: number of bands.
        img_size: side of the square input stamp in pixels.
        patch_size: side in pixels of the image square behind one token; must divide
            ``img_size``.
        weights: optional weights to start from: a galvision/Lightning checkpoint path, a timm
            model name, or ``hf-hub:<repo>`` (see :func:`galvision.backbones.load_backbone`).
        drop_path_rate: stochastic depth rate.
        pool: how :meth:`forward_pooled` pools the tokens: ``token`` (the class token) or
            ``avg`` (the mean patch token, as MAE fine-tuning and probing do, since MAE never
            trains the class token); None keeps the timm model's own pooling.
        model_kwargs: further keyword arguments for ``timm.create_model``.
    """

    def __init__(
        self,
        name: str = "vit_tiny_r_s16_p8_224",
        in_chans: int = 3,
        img_size: int = 64,
        patch_size: int = 8,
        weights: str | None = None,
        drop_path_rate: float = 0.0,
        pool: Literal["token", "avg"] | None = None,
        model_kwargs: dict | None = None,
    ) -> None:
        super().__init__()
        if img_size % patch_size:
            raise ConfigError(
                f"backbone: img_size={img_size} is not divisible by patch_size={patch_size}"
            )
        # fc_norm off: the final norm stays where MAE checkpoints have it, before pooling.
        pooling = {} if pool is None else {"global_pool": pool, "fc_norm": False}
        self.model = create_timm_vit(
            name,
            in_chans,
            img_size,
            patch_size,
            drop_path_rate=drop_path_rate,
            **pooling,
            **(model_kwargs or {}),
        )
        lacking = [member for member in TIMM_VIT_MEMBERS if not hasattr(self.model, member)]
        if lacking:
            raise ConfigError(
                f"backbone: timm model {name!r} is not a plain Vision Transformer: it lacks "
                f"{', '.join(lacking)} (galvision.backbones.ConvBackbone takes CNNs)"
            )
        self.name = name
        self.in_chans = in_chans
        self.img_size = img_size
        self.patch_size = patch_size
        self.embed_dim: int = self.model.embed_dim
        self.depth: int = len(self.model.blocks)
        self.num_prefix_tokens: int = self.model.num_prefix_tokens
        if weights:
            from galvision.backbones.weights import load_backbone

            load_backbone(self, weights)

    @property
    def grid_size(self) -> int:
        """Number of patches along one side of the image."""
        return self.img_size // self.patch_size

    def block_indices(self, count: int) -> list[int]:
        """``count`` evenly spaced block indices ending with the last block (for dense heads)."""
        return [round(self.depth - 1 - i * self.depth / count) for i in range(count)][::-1]

    def forward_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised output tokens (B, prefix + patches, D)."""
        self.check_input(x)
        return self.model.forward_features(x)

    def forward_visible(self, x: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """Tokens of only the ``visible`` patches (B, n) as MAE encodes them (B, prefix + n, D).

        Position embeddings are added before the other patches are dropped, so every kept
        token knows where it came from. The hidden patches' pixels are zeroed first: a
        convolutional stem sees past a token's edge and would otherwise glimpse them.
        """
        self.check_input(x)
        model = self.model
        shown = torch.zeros(len(x), self.grid_size**2, device=x.device, dtype=x.dtype)
        shown = shown.scatter(1, visible, 1.0).view(-1, 1, self.grid_size, self.grid_size)
        x = x * shown.repeat_interleave(self.patch_size, -2).repeat_interleave(self.patch_size, -1)
        tokens = model._pos_embed(model.patch_embed(x))
        prefix, patches = tokens[:, : self.num_prefix_tokens], tokens[:, self.num_prefix_tokens :]
        index = visible[..., None].expand(-1, -1, patches.shape[-1])
        tokens = torch.cat([prefix, torch.gather(patches, 1, index)], dim=1)
        return model.norm(model.blocks(model.norm_pre(tokens)))

    def forward_pooled(self, x: torch.Tensor) -> torch.Tensor:
        """One embedding per image (B, D), pooled as the timm model pools."""
        return self.model.forward_head(self.forward_tokens(x), pre_logits=True)

    def forward_maps(self, x: torch.Tensor, indices: Sequence[int] | int) -> list[torch.Tensor]:
        """Patch tokens of the given blocks, through the final norm, as NCHW maps (B, D, h, w)."""
        self.check_input(x)
        return self.model.forward_intermediates(
            x,
            indices=list(indices) if not isinstance(indices, int) else indices,
            output_fmt="NCHW",
            norm=True,
            intermediates_only=True,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled embedding, so that the backbone alone is a feature extractor."""
        return self.forward_pooled(x)
