"""One task of a multi-task checkpoint as its own single-task checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from galvision.checkpoints import load_checkpoint_task, read_checkpoint
from galvision.errors import CheckpointError
from galvision.folders import atomic_path
from galvision.tasks.multitask import MultiTask
from galvision.tasks.task_list import task_config


def task_checkpoint(ckpt: Path, name: str) -> dict[str, Any]:
    """The checkpoint ``galvision fit`` would have written for task ``name`` of a MultiTask run:
    the shared backbone and that task's head, its config with the MultiTask's backbone, and
    its datamodule's config."""
    checkpoint = read_checkpoint(ckpt, "--ckpt")
    multitask = load_checkpoint_task(ckpt, MultiTask)
    if name not in multitask.tasks:
        raise CheckpointError(f"--task {name!r}: {ckpt} holds the tasks {multitask.names}")
    config = checkpoint.get("hyper_parameters", {})
    if "_instantiator" not in config or not isinstance(config.get("backbone"), dict):
        raise CheckpointError(f"{ckpt}: no task configs recorded; use one of `galvision fit`")
    task = multitask.tasks[name]
    hyperparameters = task_config(config, multitask.names.index(name))
    exported = {
        "epoch": checkpoint.get("epoch", 0),
        "global_step": checkpoint.get("global_step", 0),
        "pytorch-lightning_version": checkpoint["pytorch-lightning_version"],
        "state_dict": multitask.task_state_dict(name),
        "hparams_name": "kwargs",
        "hyper_parameters": hyperparameters,
    }
    sources = checkpoint.get("datamodule_hyper_parameters", {}).get("datamodules", {})
    if name in sources:
        exported["datamodule_hparams_name"] = "kwargs"
        source = sources[name]
        exported["datamodule_hyper_parameters"] = {
            "_class_path": source["class_path"], **source.get("init_args", {}),
            "_instantiator": config["_instantiator"],
        }  # fmt: skip
    task.on_save_checkpoint(exported)
    return exported


def export_task(ckpt: Path, name: str, output: Path) -> Path:
    """Write task ``name`` of the MultiTask checkpoint ``ckpt`` to ``output`` (a .ckpt file)."""
    checkpoint = task_checkpoint(ckpt, name)
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as partial:
        torch.save(checkpoint, partial)
    return output
