"""TaskNorms: each task of a MultiTask its own offsets to the shared backbone's LayerNorms."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from timm.layers import LayerNorm as TimmLayerNorm
from torch import nn

from galvision.errors import ConfigError

# Norms over the last dimension; timm's LayerNorm2d (channels first) is not one of them.
LAST_DIMENSION_NORMS = (nn.LayerNorm, TimmLayerNorm)


def last_dimension_norms(backbone: nn.Module) -> dict[str, nn.LayerNorm]:
    """The backbone's affine LayerNorms over the last dimension, by module path."""
    return {
        path: module
        for path, module in backbone.named_modules()
        if type(module) in LAST_DIMENSION_NORMS and module.elementwise_affine
    }


class OffsetHook:
    """A LayerNorm's forward hook: renormalise with the active task's offsets, if any."""

    # A class, not a closure, so that a deep copy of the model hooks to the copied offsets.
    def __init__(self, norms: TaskNorms, position: int) -> None:
        self.norms, self.position = norms, position

    def __call__(
        self, norm: nn.LayerNorm, inputs: tuple[torch.Tensor], output: torch.Tensor
    ) -> torch.Tensor:
        active = self.norms.active
        if active is None:
            return output
        at = 2 * self.position
        weight, bias = self.norms.offsets[active][at : at + 2]
        return F.layer_norm(
            inputs[0], norm.normalized_shape, norm.weight + weight, norm.bias + bias, norm.eps
        )


class TaskNorms(nn.Module):
    """Per-task offsets to the scale and shift of every LayerNorm of a shared backbone.

    While a task is active (:meth:`use`), each LayerNorm normalises with its own weight and
    bias plus that task's offsets; outside, it is the shared norm. The offsets start at zero, so
    every task begins on the shared backbone, and each learns only from its own steps: two
    vectors a norm (9,600 parameters a task on the ViT-tiny) that let it rescale the shared
    features for its own use.
    """

    def __init__(self, backbone: nn.Module, names: Sequence[str]) -> None:
        super().__init__()
        norms = last_dimension_norms(backbone)
        if not norms:
            raise ConfigError(
                f"model.task_norms: the backbone ({type(backbone).__name__}) has no LayerNorm "
                "over its features to give each task offsets of"
            )
        self.paths = list(norms)
        self.offsets = nn.ModuleDict(
            {name: self.zero_offsets(list(norms.values())) for name in names}
        )
        self.active: str | None = None
        for position, norm in enumerate(norms.values()):
            norm.register_forward_hook(OffsetHook(self, position))

    @staticmethod
    def zero_offsets(norms: list[nn.LayerNorm]) -> nn.ParameterList:
        """Zero offsets of one task: the weight's then the bias's, norm by norm."""
        return nn.ParameterList(
            nn.Parameter(torch.zeros_like(tensor))
            for norm in norms
            for tensor in (norm.weight, norm.bias)
        )

    @contextmanager
    def use(self, name: str) -> Iterator[None]:
        """Run the backbone with task ``name``'s offsets."""
        before, self.active = self.active, name
        try:
            yield
        finally:
            self.active = before

    def baked(self, name: str, state: dict[str, torch.Tensor], prefix: str) -> dict[str, Any]:
        """``state`` (a backbone's, its keys under ``prefix``) with task ``name``'s offsets
        added to its norms: the plain backbone that task ran on."""
        baked = dict(state)
        offsets = self.offsets[name]
        for position, path in enumerate(self.paths):
            for index, kind in enumerate(("weight", "bias")):
                key = f"{prefix}{path}.{kind}"
                baked[key] = state[key] + offsets[2 * position + index].detach()
        return baked
