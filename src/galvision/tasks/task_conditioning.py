"""TaskConditioning: parameters of each task of a MultiTask that change how the shared backbone
computes while that task is active."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from galvision.errors import ConfigError

# One task's two parameters for one layer.
Pair = Sequence[Tensor]


class LayerHook:
    """A backbone layer's forward hook: its output as the active task's parameters change it."""

    # A class, not a closure, so that a deep copy of the model hooks to the copied parameters.
    def __init__(self, conditioning: TaskConditioning, position: int) -> None:
        self.conditioning, self.position = conditioning, position

    def __call__(
        self, layer: nn.Module, inputs: tuple[torch.Tensor], output: torch.Tensor
    ) -> torch.Tensor:
        conditioning = self.conditioning
        if conditioning.active is None:
            return output
        pair = conditioning.pair(conditioning.active, self.position)
        return conditioning.changed(layer, inputs[0], output, pair)


class TaskConditioning(nn.Module, ABC):
    """Each task's own pair of parameters for each of some backbone layers, applied by forward
    hooks while that task is active (:meth:`use`).

    The hooks leave the backbone's modules and state-dict keys as they are: a checkpoint of the
    shared backbone loads with or without them, and :meth:`baked` folds one task's parameters
    into a plain backbone for export. Subclasses say how a pair changes a layer's output
    (:meth:`changed`) and its weights (:meth:`baked`).
    """

    # The attribute holding each task's parameters (its name is in the state-dict keys).
    storage: str

    def __init__(self, layers: dict[str, nn.Module], names: Sequence[str], refusal: str) -> None:
        """Hook ``layers`` (by module path) and give each task of ``names`` its own
        parameters; no layer is a ConfigError saying ``refusal``."""
        if not layers:
            raise ConfigError(refusal)
        super().__init__()
        self.paths = list(layers)
        self.active: str | None = None
        own = {
            name: nn.ParameterList(p for layer in layers.values() for p in self.initial(layer))
            for name in names
        }
        setattr(self, self.storage, nn.ModuleDict(own))
        for position, layer in enumerate(layers.values()):
            layer.register_forward_hook(LayerHook(self, position))

    @abstractmethod
    def initial(self, layer: nn.Module) -> Pair:
        """A task's pair of parameters for ``layer`` at the start."""

    def own(self, name: str) -> nn.ParameterList:
        """Task ``name``'s parameters: the pair of the first layer, then of the next, ..."""
        return getattr(self, self.storage)[name]

    def pair(self, name: str, position: int) -> Pair:
        """Task ``name``'s pair of parameters for the layer at ``position``."""
        own = self.own(name)
        return own[2 * position], own[2 * position + 1]

    @contextmanager
    def use(self, name: str) -> Iterator[None]:
        """Run the backbone with task ``name``'s parameters."""
        before, self.active = self.active, name
        try:
            yield
        finally:
            self.active = before

    @abstractmethod
    def changed(self, layer: nn.Module, inputs: Tensor, output: Tensor, pair: Pair) -> Tensor:
        """The ``output`` of ``layer`` on ``inputs``, changed by one task's ``pair``."""

    @abstractmethod
    def baked(self, name: str, state: dict[str, torch.Tensor], prefix: str) -> dict[str, Any]:
        """``state`` (a backbone's, its keys under ``prefix``) with task ``name``'s parameters
        folded in: the plain backbone that task ran on."""
