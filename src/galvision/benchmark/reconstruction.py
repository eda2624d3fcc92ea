"""The masked-reconstruction benchmark: masked input, biharmonic inpainting, MAE and the model."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Subset

from galvision.baselines.inpainting import biharmonic_inpaint, worker_count
from galvision.benchmark.deconvolution import load_survey, score
from galvision.benchmark.report import write_report
from galvision.checkpoints import checked_checkpoint, load_checkpoint_task
from galvision.data import keys
from galvision.data.intensity import DATA_RANGE, to_display
from galvision.errors import ConfigError, DataError
from galvision.metrics import restoration_metrics
from galvision.models import composite
from galvision.plotting import save_image_grid
from galvision.tasks.base import GalaxyTask
from galvision.tasks.pretrain import MaskedAutoencoderTask
from galvision.tasks.reconstruction import ReconstructionTask
from galvision.transforms import BatchTransform, MaskPixels, apply_transforms, convolve
from galvision.transforms.masking import KINDS, MaskGenerator

COLUMNS = ("method", "setting", "mse", "psnr", "ssim", "seconds")
MAE_LABEL = "pretrained only (MAE decoder, no fine-tuning)"
ORACLE_LABEL = "oracle: noise-free observation in masked pixels"


@dataclass
class MaskedSet:
    """Masked observations of one test set, their truth and the fine-tuned model's output."""

    image: torch.Tensor  # masked input, display space (N, C, H, W), masked pixels = 0
    mask: torch.Tensor  # (N, 1, H, W), 1 = masked
    target: torch.Tensor  # the full observed image, display space
    restored: torch.Tensor  # the model's composite
    noiseless: torch.Tensor  # the observation before noise, display space
    seconds: float  # model time


def with_masks(transforms: list[BatchTransform], masks: MaskGenerator) -> list[BatchTransform]:
    """``transforms`` with their masking replaced by ``masks`` (one kind and fraction)."""
    kept = [t for t in transforms if not isinstance(t, MaskPixels)]
    return [*kept, MaskPixels(masks)]


def mask_and_reconstruct(
    task: ReconstructionTask,
    transforms: list[BatchTransform],
    dataset: Dataset,
    batch_size: int = 64,
) -> MaskedSet:
    """Observe and mask a dataset with the test stage of ``transforms``, and reconstruct it."""
    names = ("image", "mask", "target", "restored", "noiseless")
    parts: dict[str, list[torch.Tensor]] = {k: [] for k in names}
    seconds = 0.0
    with torch.no_grad():
        for batch in DataLoader(dataset, batch_size=batch_size):
            batch = apply_transforms(transforms, batch, "test")
            start = time.perf_counter()
            parts["restored"].append(task(batch[keys.IMAGE], batch[keys.MASK]))
            seconds += time.perf_counter() - start
            for key in (keys.IMAGE, keys.MASK, keys.TARGET):
                parts[key].append(batch[key])
            parts["noiseless"].append(to_display(convolve(batch[keys.CLEAN], batch[keys.PSF])))
    return MaskedSet(**{k: torch.cat(v) for k, v in parts.items()}, seconds=seconds)


def masked_score(
    restored: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor
) -> dict[str, float]:
    """MSE and PSNR over the masked pixels only, and SSIM of the images that differ from
    ``truth`` only there (``restored`` composited into it), in display space."""
    hidden = mask.bool().expand_as(truth)
    pixels = restored.float().clamp(0, DATA_RANGE)[hidden], truth.float()[hidden]
    metrics = restoration_metrics()
    metrics["mse"].update(*pixels)
    metrics["psnr"].update(*pixels)
    metrics["ssim"].update(composite(restored.float().clamp(0, DATA_RANGE), truth, mask), truth)
    return {name: float(metric.compute()) for name, metric in metrics.items()}


def pretrained_reconstruction(
    mae: GalaxyTask, image: torch.Tensor, mask: torch.Tensor, patch_size: int
) -> torch.Tensor:
    """The MAE's composite for masks of whole grid-aligned patches, the same count per image."""
    visible = ~mask[:, 0, ::patch_size, ::patch_size].bool().flatten(1)
    counts = visible.sum(dim=1)
    if (counts != counts[0]).any():
        raise DataError("pretrained_reconstruction: images have different numbers of patches")
    index = visible.nonzero()[:, 1].view(len(image), -1)
    return composite(mae.reconstruct(image, index), image, mask)


def mae_skip_reason(mae: GalaxyTask, kind: str, patch_size: int) -> str | None:
    """Why the MAE cannot be scored on these masks, or None when it can."""
    if kind != "patches":
        return f"{kind} masks do not hide whole patches, which is all an MAE decoder predicts"
    if mae.backbone.patch_size != patch_size:
        return (
            f"its patches are {mae.backbone.patch_size} px, the masks' {patch_size} px "
            "(those of the fine-tuned model)"
        )
    return None


def mae_row(
    pretrained: Path, test: MaskedSet, target: torch.Tensor, kind: str, patch_size: int
) -> tuple[dict, torch.Tensor] | str:
    """The MAE checkpoint's table row and reconstructions, or why it cannot have them."""
    mae = load_checkpoint_task(pretrained, MaskedAutoencoderTask)
    reason = mae_skip_reason(mae, kind, patch_size)
    if reason is not None:
        return reason
    start = time.perf_counter()
    try:
        with torch.no_grad():
            guessed = pretrained_reconstruction(mae, test.image, test.mask, patch_size)
    except ConfigError as error:  # e.g. a model trained on normalised patches
        return str(error)
    row = {
        "method": MAE_LABEL,
        "setting": Path(pretrained).name,
        "seconds": time.perf_counter() - start,
        **score(guessed, target),
    }
    return row, guessed


def run_reconstruction_benchmark(
    ckpt: Path,
    output: Path,
    pretrained: Path | None = None,
    kind: str = "patches",
    fraction: float = 0.5,
    images: int = 200,
    workers: int | None = None,
    grid_images: int = 8,
) -> str:
    """Score every method on the first ``images`` test galaxies at one mask kind and fraction."""
    if images < 1:
        raise ConfigError(f"--images {images} must be at least 1")
    task = load_checkpoint_task(ckpt, ReconstructionTask)
    if pretrained is not None:
        pretrained = checked_checkpoint(pretrained, MaskedAutoencoderTask, "--pretrained")
    masks = MaskGenerator({kind: 1.0}, fraction, patch_size=task.backbone.patch_size)
    survey = load_survey(ckpt)
    dataset = survey.datasets["test"]
    dataset = Subset(dataset, range(min(images, len(dataset))))
    test = mask_and_reconstruct(task, with_masks(task.transforms, masks), dataset)
    target = test.target.clamp(0, DATA_RANGE)
    rows = [{"method": "masked input (masked pixels = 0)", **score(test.image, target)}]

    start = time.perf_counter()
    filled = torch.from_numpy(biharmonic_inpaint(test.image.numpy(), test.mask.numpy(), workers))
    rows.append(
        {
            "method": "biharmonic inpainting (scikit-image)",
            "setting": f"{worker_count(workers)} processes",
            "seconds": time.perf_counter() - start,
            **score(filled, target),
        }
    )
    panels = {"masked": test.image, "biharmonic": filled}
    notes = []
    if pretrained is not None:
        result = mae_row(pretrained, test, target, kind, masks.patch_size)
        if isinstance(result, str):
            notes.append(f"No '{MAE_LABEL}' row: {result}.")
        else:
            rows.append(result[0])
            panels["MAE"] = result[1]
    rows.append(
        {
            "method": f"fine-tuned {type(task).__name__}",
            "setting": Path(ckpt).name,
            "seconds": test.seconds,
            **score(test.restored, target),
        }
    )
    # Near the best any method can score: only the noise of the masked pixels is left to miss.
    oracle = composite(test.noiseless, test.image, test.mask)
    rows.append({"method": ORACLE_LABEL, **score(oracle, target)})
    panels |= {"galvision": test.restored, "truth": target}
    count = min(grid_images, len(target))
    stem = output / f"reconstruct_{kind}{round(100 * fraction)}"
    save_image_grid({k: v[:count].numpy() for k, v in panels.items()}, stem.with_suffix(".png"))
    covered = float(test.mask.mean())
    title = (
        f"Masked reconstruction, simulated survey test set ({len(target)} galaxies, "
        f"{kind} masks, {covered:.1%} of pixels masked)"
    )
    notes.insert(
        0,
        "Whole-image MSE/PSNR/SSIM in display space (asinh stretch, data range 1), both sides "
        "clipped to [0, 1]; the truth is the full noisy observed image, so visible pixels score "
        "perfectly for every method and the noise of masked pixels cannot be predicted: the "
        "oracle row, which knows the noise-free observation there, is about the best any method "
        "can score. Masks are seeded per galaxy; seconds are wall-clock on this machine.",
    )
    return write_report(rows, COLUMNS, stem, title, " ".join(notes))


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``galvision benchmark reconstruct``."""
    parser.add_argument(
        "--ckpt", type=Path, required=True, help="ReconstructionTask checkpoint of `galvision fit`"
    )
    parser.add_argument(
        "--pretrained",
        type=Path,
        default=None,
        help="MaskedAutoencoderTask checkpoint, scored without fine-tuning (patches masks only)",
    )
    parser.add_argument("--kind", choices=KINDS, default="patches", help="mask kind")
    parser.add_argument("--fraction", type=float, default=0.5, help="masked fraction, in [0, 1)")
    parser.add_argument("--images", type=int, default=200, help="test galaxies to score")
    parser.add_argument(
        "--workers", type=int, default=None, help="processes of the biharmonic baseline"
    )
    parser.add_argument("--output", type=Path, default=Path("benchmark_results"))


def run(args: argparse.Namespace) -> str:
    """Run ``galvision benchmark reconstruct`` from parsed arguments."""
    return run_reconstruction_benchmark(
        args.ckpt,
        args.output,
        pretrained=args.pretrained,
        kind=args.kind,
        fraction=args.fraction,
        images=args.images,
        workers=args.workers,
    )
