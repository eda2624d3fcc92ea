"""``galvision export``: a checkpoint's backbone as timm weights and config, or a foundation;
or one task of a multi-task checkpoint as its own checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path

from galvision.backbones import Backbone
from galvision.backbones.export import export_backbone, foundations_dir
from galvision.checkpoints import load_checkpoint_task
from galvision.errors import ConfigError
from galvision.folders import check_writable
from galvision.tasks.base import GalaxyTask
from galvision.tasks.export_task import export_task


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``galvision export``."""
    parser = argparse.ArgumentParser(
        prog="galvision export",
        description="Write the backbone of a checkpoint as timm weights (safetensors) and config, "
        "loadable with timm.create_model('local-dir:<folder>', pretrained=True).",
    )
    parser.add_argument("--ckpt", type=Path, required=True, help="checkpoint of `galvision fit`")
    parser.add_argument(
        "--task", help="of a multi-task checkpoint: write this task's own checkpoint to --output"
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--output", type=Path, help="folder to write")
    target.add_argument(
        "--name", help="publish as a named foundation in the cache (weights: <name> loads it)"
    )
    return parser


def export_main(argv: list[str]) -> None:
    """Export the checkpoint named in ``argv`` and print where it went."""
    args = build_parser().parse_args(argv)
    if args.task is not None:
        if args.output is None:
            raise ConfigError("--task writes a checkpoint file: give it with --output TASK.ckpt")
        check_writable(args.output.parent, "--output")
        written = export_task(args.ckpt, args.task, args.output)
        print(f"task {args.task} of {args.ckpt} written to {written}")
        return
    folder = args.output if args.output is not None else foundations_dir() / args.name
    check_writable(folder.parent, "--output" if args.output is not None else "GALVISION_CACHE")
    backbone = load_checkpoint_task(args.ckpt, GalaxyTask).backbone
    if not isinstance(backbone, Backbone):
        raise ConfigError(
            f"{args.ckpt}: its backbone is a {type(backbone).__name__}; only timm Vision "
            "Transformers (galvision.backbones.Backbone) export"
        )
    print(f"backbone of {args.ckpt} written to {export_backbone(backbone, folder)}")
