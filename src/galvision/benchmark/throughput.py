"""The speed benchmark: training and inference images per second of backbones, side by side.

Every backbone runs the same classification step (pooled embedding, linear layer, cross
entropy, AdamW) on the same batch in the same process, one after the other, so the ratios to
the first row hold on any machine; the first row is the baseline (a timm ResNet-18 unless
``--backbone`` names others). Equal wall-clock budgets follow: a backbone at half the
baseline's rate gets half its steps in the same time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn

from galvision.benchmark.classification import resnet_arguments
from galvision.benchmark.report import write_report
from galvision.benchmark.training import configure

COLUMNS = ("backbone", "parameters_m", "train_images_per_s", "train_ratio", "infer_images_per_s")
RESNET = "resnet18"
DEFAULT_BACKBONES = [
    RESNET,
    "configs/backbone/vit_tiny.yaml",
    "configs/backbone/vit_tiny_patch.yaml",
]


def build_backbone(source: str, in_chans: int, img_size: int, output: Path) -> nn.Module:
    """The backbone of a YAML file (``configs/backbone/*.yaml``), or the ResNet-18 baseline."""
    arguments = (
        list(resnet_arguments(in_chans, img_size))
        if source == RESNET
        else ["--model.init_args.backbone", source]
    )
    return configure(["tasks/classify.yaml"], output, 1, 0, arguments).model.backbone


def images_per_second(step, images: torch.Tensor, steps: int, warmup: int) -> float:
    """Images per second of ``step(images)``, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        step(images)
    start = time.perf_counter()
    for _ in range(steps):
        step(images)
    return steps * len(images) / (time.perf_counter() - start)


def measure(backbone: nn.Module, images: torch.Tensor, steps: int, warmup: int) -> dict:
    """Training and inference rates of one backbone on ``images``."""
    head = nn.Linear(backbone.embed_dim, 10)
    optimizer = torch.optim.AdamW([*backbone.parameters(), *head.parameters()], lr=1e-4)
    labels = torch.arange(len(images)) % 10

    def train(batch: torch.Tensor) -> None:
        loss = nn.functional.cross_entropy(head(backbone.forward_pooled(batch)), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    @torch.no_grad()
    def infer(batch: torch.Tensor) -> None:
        backbone.forward_pooled(batch)

    backbone.train()
    trained = images_per_second(train, images, steps, warmup)
    backbone.eval()
    return {
        "parameters_m": sum(p.numel() for p in backbone.parameters()) / 1e6,
        "train_images_per_s": trained,
        "infer_images_per_s": images_per_second(infer, images, steps, warmup),
    }


def run(args: argparse.Namespace) -> str:
    """Run ``galvision benchmark throughput`` from parsed arguments."""
    torch.manual_seed(args.seed)
    images = torch.rand(args.batch_size, args.in_chans, args.img_size, args.img_size)
    rows = []
    for source in args.backbone:
        backbone = build_backbone(source, args.in_chans, args.img_size, args.output / "throughput")
        rows.append({"backbone": source, **measure(backbone, images, args.steps, args.warmup)})
    for row in rows:
        row["train_ratio"] = row["train_images_per_s"] / rows[0]["train_images_per_s"]
    notes = (
        f"Batches of {args.batch_size} stamps of {args.in_chans}×{args.img_size}×{args.img_size}, "
        f"{args.steps} timed steps after {args.warmup} untimed, {torch.get_num_threads()} CPU "
        "threads, float32; train: forward, cross entropy on a linear layer, backward, AdamW. "
        "train_ratio: training rate over the first row's."
    )
    return write_report(rows, COLUMNS, args.output / "throughput", "Throughput", notes)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``galvision benchmark throughput``."""
    parser.add_argument(
        "--backbone",
        nargs="+",
        default=DEFAULT_BACKBONES,
        help=f"backbone YAML files, or {RESNET!r}; the first is the baseline",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--in-chans", type=int, default=3)
    parser.add_argument("--img-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per backbone")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before timing")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=Path("benchmark_results"))
