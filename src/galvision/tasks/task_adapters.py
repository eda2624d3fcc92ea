"""TaskAdapters: each task of a MultiTask its own low-rank (LoRA) updates of the shared backbone."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from galvision.errors import ConfigError
from galvision.tasks.task_conditioning import Pair, TaskConditioning


def linear_layers(backbone: nn.Module) -> dict[str, nn.Linear]:
    """The backbone's linear layers (a ViT's attention and MLP projections), by module path."""
    return {path: module for path, module in backbone.named_modules() if type(module) is nn.Linear}


class TaskAdapters(TaskConditioning):
    """Per-task low-rank updates of every linear layer of a shared backbone (LoRA, Hu et al.
    2022).

    While a task is active (:meth:`use`), each linear layer ``W x`` computes ``W x + B A x``
    with that task's ``A`` (rank × inputs) and ``B`` (outputs × rank); outside, it is the shared
    layer. ``B`` starts at zero, so every task begins on the shared backbone, and each learns
    only from its own steps: rank × (inputs + outputs) parameters a layer (295,000 a task at
    rank 8 on the ViT-tiny, 5 % of it) of capacity the other tasks do not pull on.
    Hooks rather than wrapped layers (as ``peft`` makes) keep the backbone's state-dict keys, so
    shared-backbone checkpoints and exports stay as they are.
    """

    storage = "factors"

    def __init__(self, backbone: nn.Module, names: Sequence[str], rank: int) -> None:
        if rank < 1:
            raise ConfigError(f"model.adapter_rank={rank}: give a rank of 1 or more, or 0 for none")
        self.rank = rank
        super().__init__(
            linear_layers(backbone),
            names,
            f"model.adapter_rank: the backbone ({type(backbone).__name__}) has no linear layer "
            "to give each task low-rank updates of",
        )

    def initial(self, layer: nn.Module) -> Pair:
        """``A`` drawn as a linear layer's weight is, and ``B`` zero."""
        down = torch.empty(self.rank, layer.in_features)
        nn.init.kaiming_uniform_(down, a=math.sqrt(5))
        return [nn.Parameter(down), nn.Parameter(torch.zeros(layer.out_features, self.rank))]

    def changed(self, layer: nn.Module, inputs: Tensor, output: Tensor, pair: Pair) -> Tensor:
        """``output`` plus the update ``B A`` (the ``pair`` is ``A``, ``B``) of ``inputs``."""
        down, up = pair
        return output + F.linear(F.linear(inputs, down), up)

    def baked(self, name: str, state: dict[str, torch.Tensor], prefix: str) -> dict[str, Any]:
        """``state`` with task ``name``'s update ``B A`` added to each linear layer's weight."""
        baked = dict(state)
        for position, path in enumerate(self.paths):
            down, up = self.pair(name, position)
            key = f"{prefix}{path}.weight"
            baked[key] = state[key] + (up @ down).detach()
        return baked
