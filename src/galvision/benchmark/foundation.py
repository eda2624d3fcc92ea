"""The foundation benchmark: deconvolution fine-tuned from random init or an MAE backbone."""

from __future__ import annotations

import argparse
from pathlib import Path

from galvision.benchmark.report import write_report
from galvision.benchmark.training import (
    ConfigFiles,
    add_config_argument,
    configure,
    describe_config,
    fit_and_test,
)
from galvision.checkpoints import checked_checkpoint
from galvision.tasks.pretrain import MaskedAutoencoderTask

COLUMNS = ("backbone", "training", "mse", "psnr", "ssim")
WEIGHTS = "--model.init_args.backbone.init_args.weights"


def variants(pretrained: Path) -> dict[str, tuple[str, str, list[str]]]:
    """Run name -> (backbone, training, command-line arguments) of the compared fine-tunings."""
    weights = [WEIGHTS, str(pretrained)]
    return {
        "random": ("random init", "fine-tuned", []),
        "pretrained": ("MAE-pretrained", "fine-tuned", weights),
        "frozen": (
            "MAE-pretrained",
            "frozen, decoder trained",
            [*weights, "--model.init_args.freeze_backbone", "true"],
        ),
    }


def run_foundation_benchmark(
    pretrained: Path, config: ConfigFiles, steps: int, output: Path, seed: int = 0
) -> str:
    """Fine-tune ``config``'s deconvolution task per variant; compare them on its test set."""
    pretrained = checked_checkpoint(pretrained, MaskedAutoencoderTask, "--pretrained")
    # Every run is configured (and its weights loaded) before any trains, so a checkpoint
    # that does not fit the config fails at once rather than after the first run.
    runs = [
        (backbone, training, configure(config, output / "foundation" / name, steps, seed, extra))
        for name, (backbone, training, extra) in variants(pretrained).items()
    ]
    rows, test_size = [], 0
    for backbone, training, cli in runs:
        metrics = fit_and_test(cli, seed)
        test_size = len(cli.datamodule.datasets["test"])
        rows.append(
            {
                "backbone": backbone,
                "training": training,
                **{key: float(metrics[f"test/{key}"]) for key in ("mse", "psnr", "ssim")},
            }
        )
    notes = (
        f"Test set of {describe_config(config)} ({test_size} galaxies), display space, "
        "data range 1. Every row "
        f"trains {steps} steps from seed {seed}; pretrained weights: {pretrained}. Runs in "
        f"{output / 'foundation'}."
    )
    title = f"Foundation: deconvolution after {steps} fine-tuning steps"
    return write_report(rows, COLUMNS, output / "foundation_deconv", title, notes)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``galvision benchmark foundation``."""
    parser.add_argument(
        "--pretrained", type=Path, required=True, help="checkpoint of `galvision fit` (MAE)"
    )
    add_config_argument(parser, "tasks/deconv.yaml", "deconvolution config")
    parser.add_argument("--steps", type=int, default=200, help="fine-tuning steps of every run")
    parser.add_argument("--seed", type=int, default=0, help="seed of every run")
    parser.add_argument("--output", type=Path, default=Path("benchmark_results"))


def run(args: argparse.Namespace) -> str:
    """Run ``galvision benchmark foundation`` from parsed arguments."""
    return run_foundation_benchmark(
        args.pretrained, args.config, args.steps, args.output, seed=args.seed
    )
