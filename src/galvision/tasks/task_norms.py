"""TaskNorms: each task of a MultiTask its own offsets to the shared backbone's LayerNorms."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from timm.layers import LayerNorm as TimmLayerNorm
from torch import Tensor, nn

from galvision.tasks.task_conditioning import Pair, TaskConditioning

# Norms over the last dimension; timm's LayerNorm2d (channels first) is not one of them.
LAST_DIMENSION_NORMS = (nn.LayerNorm, TimmLayerNorm)


def last_dimension_norms(backbone: nn.Module) -> dict[str, nn.LayerNorm]:
    """The backbone's affine LayerNorms over the last dimension, by module path."""
    return {
        path: module
        for path, module in backbone.named_modules()
        if type(module) in LAST_DIMENSION_NORMS and module.elementwise_affine
    }


class TaskNorms(TaskConditioning):
    """Per-task offsets to the scale and shift of every LayerNorm of a shared backbone.

    While a task is active (:meth:`use`), each LayerNorm normalises with its own weight and
    bias plus that task's offsets; outside, it is the shared norm. The offsets start at zero, so
    every task begins on the shared backbone, and each learns only from its own steps: two
    vectors a norm (9,600 parameters a task on the ViT-tiny) that let it rescale the shared
    features for its own use.
    """

    storage = "offsets"

    def __init__(self, backbone: nn.Module, names: Sequence[str]) -> None:
        super().__init__(
            last_dimension_norms(backbone),
            names,
            f"model.task_norms: the backbone ({type(backbone).__name__}) has no LayerNorm over "
            "its features to give each task offsets of",
        )

    def initial(self, layer: nn.Module) -> Pair:
        """Zero offsets of the norm's weight and bias."""
        return [
            nn.Parameter(torch.zeros_like(layer.weight)),
            nn.Parameter(torch.zeros_like(layer.bias)),
        ]

    def changed(self, layer: nn.Module, inputs: Tensor, output: Tensor, pair: Pair) -> Tensor:
        """The norm of ``inputs`` with its weight and bias offset by the ``pair``."""
        weight, bias = pair
        return F.layer_norm(
            inputs, layer.normalized_shape, layer.weight + weight, layer.bias + bias, layer.eps
        )

    def baked(self, name: str, state: dict[str, torch.Tensor], prefix: str) -> dict[str, Any]:
        """``state`` with task ``name``'s offsets added to its norms."""
        baked = dict(state)
        for position, path in enumerate(self.paths):
            for kind, offset in zip(("weight", "bias"), self.pair(name, position), strict=True):
                key = f"{prefix}{path}.{kind}"
                baked[key] = state[key] + offset.detach()
        return baked
