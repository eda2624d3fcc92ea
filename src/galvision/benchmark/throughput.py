"""The speed benchmark: training and inference images per second of backbones, side by side.

Every backbone runs the same classification step (pooled embedding, linear layer, cross
entropy, AdamW) on the same batch in the same process, one after the other, so the ratios to
the first row hold on any machine; the first row is the baseline (a timm ResNet-18 unless
``--backbone`` names others). Equal wall-clock budgets follow: a backbone at half the
baseline's rate gets half its steps in the same time. On a GPU the steps run in bf16 autocast
and the table adds the FLOPs of a step and the model FLOPs utilisation (MFU).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from galvision.benchmark.classification import resnet_arguments
from galvision.benchmark.report import write_report
from galvision.benchmark.training import configure

COLUMNS = (
    "backbone",
    "parameters_m",
    "train_images_per_s",
    "train_spread_pct",
    "train_ratio",
    "infer_images_per_s",
    "infer_spread_pct",
    "train_gflop",
    "infer_gflop",
    "train_tflops",
    "mfu",
)
RESNET = "resnet18"
DEFAULT_BACKBONES = [
    RESNET,
    "configs/backbone/vit_tiny.yaml",
    "configs/backbone/vit_tiny_patch.yaml",
]
PRECISIONS = ("32", "bf16")
# The vendors' dense (no 2:4 sparsity) bf16 tensor-core peaks in TFLOP/s, by a substring of
# torch.cuda.get_device_name; the first match wins, so the PCIe H100 precedes the SXM one.
PEAK_BF16_TFLOPS = (("H100 PCIe", 756.0), ("H100", 989.0), ("H200", 989.0), ("A100", 312.0))
Step = Callable[[torch.Tensor], None]


def build_backbone(source: str, in_chans: int, img_size: int, output: Path) -> nn.Module:
    """The backbone of a YAML file (``configs/backbone/*.yaml``), or the ResNet-18 baseline."""
    arguments = (
        list(resnet_arguments(in_chans, img_size))
        if source == RESNET
        else ["--model.init_args.backbone", source]
    )
    return configure(["tasks/classify.yaml"], output, 1, 0, arguments).model.backbone


def synchronize(device: torch.device) -> None:
    """Wait for the queued GPU work, so that a timer read next includes it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def images_per_second(
    step: Step, images: torch.Tensor, steps: int, warmup: int, repeats: int = 1
) -> list[float]:
    """Images per second of each of ``repeats`` blocks of ``steps`` calls of ``step(images)``.

    ``warmup`` untimed calls come first.
    """
    for _ in range(warmup):
        step(images)
    rates = []
    for _ in range(repeats):
        synchronize(images.device)
        start = time.perf_counter()
        for _ in range(steps):
            step(images)
        synchronize(images.device)
        rates.append(steps * len(images) / (time.perf_counter() - start))
    return rates


def flop_per_image(step: Step, images: torch.Tensor) -> float:
    """FLOPs per image of one ``step(images)``, as torch's FlopCounterMode counts them."""
    with FlopCounterMode(display=False) as counter:
        step(images)
    synchronize(images.device)
    return counter.get_total_flops() / len(images)


def summarize(name: str, rates: list[float]) -> dict[str, float]:
    """The median rate of the repeats and their spread, (max - min) / median in per cent."""
    median = statistics.median(rates)
    return {
        f"{name}_images_per_s": median,
        f"{name}_spread_pct": 100 * (max(rates) - min(rates)) / median,
    }


def measure(
    backbone: nn.Module,
    images: torch.Tensor,
    steps: int,
    warmup: int,
    repeats: int = 1,
    precision: str = "32",
) -> dict[str, float]:
    """Training and inference rates and FLOPs of one backbone on ``images`` (on their device)."""
    device = images.device
    backbone.to(device)
    head = nn.Linear(backbone.embed_dim, 10).to(device)
    optimizer = torch.optim.AdamW([*backbone.parameters(), *head.parameters()], lr=1e-4)
    labels = torch.arange(len(images), device=device) % 10

    def autocast() -> AbstractContextManager:
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")

    def train(batch: torch.Tensor) -> None:
        with autocast():
            loss = nn.functional.cross_entropy(head(backbone.forward_pooled(batch)), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    @torch.no_grad()
    def infer(batch: torch.Tensor) -> None:
        with autocast():
            backbone.forward_pooled(batch)

    backbone.train()
    train_flop = flop_per_image(train, images)
    trained = summarize("train", images_per_second(train, images, steps, warmup, repeats))
    backbone.eval()
    infer_flop = flop_per_image(infer, images)
    inferred = summarize("infer", images_per_second(infer, images, steps, warmup, repeats))
    return {
        "parameters_m": sum(p.numel() for p in backbone.parameters()) / 1e6,
        **trained,
        **inferred,
        "train_gflop": train_flop / 1e9,
        "infer_gflop": infer_flop / 1e9,
        "train_tflops": train_flop * trained["train_images_per_s"] / 1e12,
    }


def peak_tflops(given: float | None, device: torch.device, precision: str) -> float | None:
    """The peak that MFU divides by: ``given``, else the table's bf16 peak of this GPU."""
    if given is not None or device.type != "cuda" or precision != "bf16":
        return given
    name = torch.cuda.get_device_name(device)
    return next((peak for model, peak in PEAK_BF16_TFLOPS if model in name), None)


def describe(device: torch.device, precision: str, peak: float | None, given: bool) -> str:
    """The device, precision and MFU peak, for the notes under the table."""
    where = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"CPU, {torch.get_num_threads()} threads"
    )
    how = (
        "bf16 autocast around forward and loss"
        if precision == "bf16"
        else f"float32 (matmul precision {torch.get_float32_matmul_precision()!r})"
    )
    if peak is None:
        mfu = "mfu: empty, no peak known for this device and precision (give --peak-tflops)"
    elif given:
        mfu = f"mfu: train_tflops over the {peak:g} TFLOP/s given with --peak-tflops"
    else:
        mfu = f"mfu: train_tflops over {peak:g} TFLOP/s, the vendor's dense bf16 peak of this GPU"
    return f"{where}, {how}; {mfu}"


def run(args: argparse.Namespace) -> str:
    """Run ``galvision benchmark throughput`` from parsed arguments."""
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    precision = args.precision or ("bf16" if device.type == "cuda" else "32")
    peak = peak_tflops(args.peak_tflops, device, precision)
    images = torch.rand(args.batch_size, args.in_chans, args.img_size, args.img_size)
    images = images.to(device)
    rows = []
    for source in args.backbone:
        backbone = build_backbone(source, args.in_chans, args.img_size, args.output / "throughput")
        measured = measure(backbone, images, args.steps, args.warmup, args.repeats, precision)
        rows.append({"backbone": source, **measured})
        del backbone  # free its memory before the next backbone is built
    for row in rows:
        row["train_ratio"] = row["train_images_per_s"] / rows[0]["train_images_per_s"]
        if peak is not None:
            row["mfu"] = row["train_tflops"] / peak
    notes = (
        f"{describe(device, precision, peak, args.peak_tflops is not None)}. Batches of "
        f"{args.batch_size} stamps of {args.in_chans}×{args.img_size}×{args.img_size}, "
        f"{args.repeats} repeats of {args.steps} timed steps after {args.warmup} untimed; rates "
        "are the median repeat, *_spread_pct (max - min) / median of the repeats. "
        "train: forward, cross entropy on a linear layer, backward, AdamW. "
        "train_ratio: training rate over the first row's. train_gflop, infer_gflop: GFLOP per "
        "image of one step as torch's FlopCounterMode counts them (matrix products, "
        "convolutions, attention). train_tflops: train_gflop × train_images_per_s."
    )
    return write_report(rows, COLUMNS, args.output / "throughput", "Throughput", notes)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``galvision benchmark throughput``."""
    parser.add_argument(
        "--backbone",
        nargs="+",
        default=DEFAULT_BACKBONES,
        help=f"backbone YAML files (e.g. configs/backbone/vit_base.yaml), or {RESNET!r}; "
        "the first is the baseline",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--in-chans", type=int, default=3)
    parser.add_argument("--img-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per repeat")
    parser.add_argument("--repeats", type=int, default=3, help="timed blocks of --steps steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before timing")
    parser.add_argument(
        "--device",
        default="cuda" if torch.cuda.is_available() else "cpu",
        help="torch device (default: cuda if available, else cpu)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help="bf16 autocast or float32 (default: bf16 on cuda, 32 on cpu)",
    )
    parser.add_argument(
        "--peak-tflops",
        type=float,
        default=None,
        help="peak TFLOP/s that mfu divides by (default: the dense bf16 peak of a known GPU)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=Path("benchmark_results"))
