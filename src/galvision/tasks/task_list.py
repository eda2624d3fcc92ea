"""The task list of a MultiTask: each task built around the one backbone, named, and given the
hyperparameters its single-task run would record."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

from galvision.errors import ConfigError
from galvision.tasks.base import GalaxyTask

TaskFactory = Callable[[nn.Module], GalaxyTask]


def build_tasks(backbone: nn.Module, factories: list[TaskFactory]) -> list[GalaxyTask]:
    """Each task of ``factories`` built around the one ``backbone``."""
    tasks = [factory(backbone) for factory in factories]
    for position, task in enumerate(tasks):
        if not isinstance(task, GalaxyTask) or task.backbone is not backbone:
            raise ConfigError(
                f"model.tasks[{position}]: {type(task).__name__} is not a GalaxyTask built "
                "around the backbone it is given"
            )
    return tasks


def task_config(config: Mapping[str, Any], position: int) -> dict[str, Any]:
    """The hyperparameters a single-task run of task ``position`` of a MultiTask's CLI
    ``config`` records: its ``init_args`` and the shared backbone's config."""
    entry = config["tasks"][position]
    own = {"_class_path": entry["class_path"], **(entry.get("init_args") or {})}
    return {**own, "backbone": config["backbone"], "_instantiator": config["_instantiator"]}


def record_task_configs(tasks: list[GalaxyTask], config: Mapping[str, Any]) -> None:
    """Give each task, built from a MultiTask's CLI ``config``, its own hyperparameters."""
    # Lightning's CLI built every task inside the MultiTask's hyperparameter context, so each
    # recorded the MultiTask's config as its own.
    for position, task in enumerate(tasks):
        task._set_hparams(task_config(config, position))
        task._hparams_initial = copy.deepcopy(task.hparams)


def task_names(tasks: list[GalaxyTask], names: list[str] | None) -> list[str]:
    """The name each task logs under: ``names`` or each class's ``name``, checked unique."""
    chosen = list(names) if names is not None else [task.name for task in tasks]
    if len(chosen) != len(tasks):
        raise ConfigError(f"model.names has {len(chosen)} names for {len(tasks)} tasks")
    for name in chosen:
        if not name.isidentifier():
            raise ConfigError(f"model.names: {name!r} is not a plain name (letters, digits, _)")
    repeated = sorted({name for name in chosen if chosen.count(name) > 1})
    if repeated:
        raise ConfigError(
            f"model.tasks: two tasks log under {repeated[0]!r}; name them apart with "
            f"model.names, e.g. [{', '.join(f'{n}_{i}' for i, n in enumerate(chosen))}]"
        )
    return chosen
