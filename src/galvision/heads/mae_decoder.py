"""MAEDecoder: the light transformer that predicts masked patches from the visible tokens."""

from __future__ import annotations

import torch
from timm.layers import build_sincos2d_pos_embed
from timm.models.vision_transformer import Block
from torch import nn

from galvision.backbones.contract import TokenBackbone, require_backbone
from galvision.errors import ConfigError, DataError


class MAEDecoder(nn.Module):
    """Pixels of every patch (B, N, p*p*C) from the encoder tokens of the visible ones (He 2022).

    Args:
        backbone: the encoder whose visible tokens it decodes (width, patch grid, bands).
        depth: transformer blocks.
        width: width of the decoder tokens.
        num_heads: attention heads per block.
        mlp_ratio: hidden width of the blocks' MLP over ``width``.
    """

    def __init__(
        self,
        backbone: TokenBackbone,
        depth: int = 4,
        width: int = 128,
        num_heads: int = 4,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__()
        require_backbone(backbone, TokenBackbone, "MAEDecoder")
        if width % 4:
            raise ConfigError(f"MAEDecoder: width={width} must be a multiple of 4 (2-D sin-cos)")
        grid_size, patch_size = backbone.grid_size, backbone.patch_size
        self.num_prefix_tokens = backbone.num_prefix_tokens
        self.num_patches = grid_size**2
        self.embed = nn.Linear(backbone.embed_dim, width)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, width))
        # Fixed, not learned: the decoder must place tokens it never saw at a position.
        pos_embed = build_sincos2d_pos_embed([grid_size, grid_size], dim=width)
        self.register_buffer("pos_embed", pos_embed[None], persistent=False)
        self.blocks = nn.Sequential(
            *(Block(width, num_heads, mlp_ratio, qkv_bias=True) for _ in range(depth))
        )
        self.norm = nn.LayerNorm(width)
        self.predict = nn.Linear(width, patch_size**2 * backbone.in_chans)
        # MAE's initialisation; PyTorch's default Linear init trains this decoder more slowly.
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        nn.init.normal_(self.mask_token, std=0.02)

    def forward(self, tokens: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """Decode encoder ``tokens`` (B, prefix + n, D) of the ``visible`` patches (B, n)."""
        x = self.embed(tokens)
        prefix, kept = x[:, : self.num_prefix_tokens], x[:, self.num_prefix_tokens :]
        if kept.shape[1] != visible.shape[1]:
            raise DataError(
                f"MAEDecoder: {kept.shape[1]} patch tokens for {visible.shape[1]} visible indices"
            )
        grid = self.mask_token.expand(len(x), self.num_patches, -1)
        index = visible[..., None].expand(-1, -1, x.shape[-1])
        patches = grid.scatter(1, index, kept) + self.pos_embed
        x = self.norm(self.blocks(torch.cat([prefix, patches], dim=1)))
        return self.predict(x[:, self.num_prefix_tokens :])
