"""The lens benchmark: torchvision Faster R-CNN against galvision's ViT + CenterNet head.

Every row trains on the training fields of ``--config`` with its schedule (or ``--steps``) and
is tested on its fixed, seeded test fields: (a) torchvision's Faster R-CNN (ResNet-18 FPN, no
pretrained weights), (b) the galvision ViT from scratch, (c) the galvision ViT starting from
an MAE checkpoint (``--pretrained``; position embeddings resampled to the field size).
``--real-lenses`` adds a gallery of real HST lenses and ``--non-lenses`` galaxies redrawn as
survey fields (:mod:`galvision.data.real_lenses`), scored by the best galvision row.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from torchmetrics.functional.classification import binary_auroc

from galvision.benchmark.report import write_report
from galvision.benchmark.training import (
    LAST,
    ConfigFiles,
    Method,
    add_config_argument,
    configure,
    describe_config,
    resumable_run,
)
from galvision.callbacks.detection_writer import draw_boxes
from galvision.checkpoints import checked_checkpoint, load_checkpoint_task
from galvision.data import keys
from galvision.data.lens_datamodule import LensFieldDataModule
from galvision.data.real_lenses import real_fields
from galvision.errors import ConfigError
from galvision.tasks.lens_detection import EVALUATION_SCORES, LensDetectionTask
from galvision.tasks.pretrain import MaskedAutoencoderTask
from galvision.transforms import apply_transforms

METRICS = ("map_50", "map", "auroc", *(
    f"{kind}@{t}" for t in EVALUATION_SCORES for kind in ("precision", "recall")
))  # fmt: skip
COLUMNS = ("method", "training", *METRICS)
WEIGHTS = "--model.init_args.backbone.init_args.weights"
GALLERY_COLUMNS = 6
REFERENCE_FWHM = 1.2  # arcsec: the real fields are seen through the bank's PSF closest to this


def compared_methods(pretrained: Path | None, in_chans: int, img_size: int) -> list[Method]:
    """Faster R-CNN, the ViT from scratch, and the ViT from MAE weights when given."""
    baseline = {
        "class_path": "galvision.baselines.faster_rcnn.FasterRCNNTask",
        "init_args": {"in_chans": in_chans, "img_size": img_size},
    }
    methods = [
        Method(
            "faster-rcnn",
            "torchvision Faster R-CNN (ResNet-18 FPN)",
            "from scratch",
            ("--model", json.dumps(baseline)),
        ),
        Method("vit", "galvision ViT + CenterNet", "from scratch", ()),
    ]
    if pretrained is not None:
        methods.append(
            Method("mae", "galvision ViT + CenterNet", "MAE-pretrained", (WEIGHTS, str(pretrained)))
        )
    return methods


def benchmark_rows(
    config: ConfigFiles, methods: list[Method], steps: int | None, output: Path, seed: int
) -> tuple[list[dict], dict[str, Path]]:
    """Train and test every method; its table row and its run folder."""
    rows, folders = [], {}
    for method in methods:
        folder = output / method.key
        metrics = resumable_run(config, folder, steps, seed, list(method.arguments))
        folders[method.key] = folder
        rows.append(
            {
                "method": method.name,
                "training": method.training,
                **{name: metrics[f"test/{name}"] for name in METRICS},
            }
        )
    return rows, folders


# -- real lenses ----------------------------------------------------------------------------
@torch.no_grad()
def score_real_fields(
    task: LensDetectionTask, datamodule: LensFieldDataModule, clean: np.ndarray, psf: torch.Tensor
) -> tuple[torch.Tensor, list[dict[str, torch.Tensor]], torch.Tensor]:
    """Observed display images, detections and field scores of clean real fields.

    The fields are observed through ``psf`` by the task's test-stage transforms, with the
    noise and target PSF of the datamodule's test set.
    """
    task.eval()
    test = datamodule.datasets["test"]
    images, detections, scores = [], [], []
    for start in range(0, len(clean), 16):
        chunk = torch.from_numpy(clean[start : start + 16])
        n = len(chunk)
        batch = {
            keys.CLEAN: chunk,
            keys.PSF: psf.expand(n, -1, -1, -1),
            keys.TARGET_PSF: test.target_psf.expand(n, -1, -1, -1),
            keys.SKY_SIGMA: test.sky_sigma.expand(n, -1),
            keys.GAIN: test.gain.expand(n, -1),
            keys.INDEX: torch.arange(start, start + n),
        }
        image = apply_transforms(task.transforms, batch, "test")[keys.IMAGE]
        outputs = task(image)
        images.append(image)
        detections += task.decode(outputs)
        scores.append(task.field_scores(outputs))
    return torch.cat(images), detections, torch.cat(scores)


def save_gallery(
    images: torch.Tensor,
    detections: list[dict],
    scores: torch.Tensor,
    names: list[str],
    path: Path,
) -> None:
    """The fields with their boxes at the evaluation thresholds, named and scored."""
    rows = -(-len(images) // GALLERY_COLUMNS)
    figure, axes = plt.subplots(rows, GALLERY_COLUMNS, figsize=(2.2 * GALLERY_COLUMNS, 2.4 * rows))
    for axis in np.ravel(axes):
        axis.axis("off")
    for axis, image, found, score, name in zip(
        np.ravel(axes), images, detections, scores, names, strict=False
    ):
        picture = draw_boxes(
            image.numpy(), found["boxes"].numpy(), found["scores"].numpy(), EVALUATION_SCORES
        )
        axis.imshow(picture)
        axis.set_title(f"{name}\nscore {float(score):.2f}", fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def real_gallery(
    args: argparse.Namespace, task: LensDetectionTask, datamodule: LensFieldDataModule
) -> str:
    """Score real lenses and non-lenses; write the gallery PNG and score CSV; a summary."""
    datamodule.setup("test")
    test = datamodule.datasets["test"]
    psf = test.psf_bank[int((test.psf_fwhm - REFERENCE_FWHM).abs().argmin())][None]
    size, bands = datamodule.image_size, datamodule.fields.bands
    sets = [("lens", args.real_lenses), ("non-lens", args.non_lenses)]
    plural = {"lens": "lenses", "non-lens": "non-lenses"}
    lines, table = [], []
    images, detections, scores, names = [], [], [], []
    for kind, path in sets:
        if path is None:
            continue
        clean, found_names = real_fields(path, size, bands, datamodule.fields.pixel_scale)
        shown, found, score = score_real_fields(task, datamodule, clean, psf)
        table += [
            {"name": n, "kind": kind, "score": float(s)}
            for n, s in zip(found_names, score, strict=True)
        ]
        lines.append(
            f"{plural[kind]} ({path.name}, {len(score)}): median field score {score.median():.2f}, "
            f"{int((score >= 0.5).sum())} at ≥ 0.5, {int((score >= 0.9).sum())} at ≥ 0.9"
        )
        keep = slice(None) if kind == "lens" else slice(0, GALLERY_COLUMNS * 2)
        images.append(shown[keep])
        detections += found[keep]
        scores.append(score[keep])
        names += found_names[keep]
    if len({row["kind"] for row in table}) == 2:
        labels = torch.tensor([row["kind"] == "lens" for row in table]).long()
        auroc = binary_auroc(torch.tensor([row["score"] for row in table]), labels)
        lines.append(f"lens / non-lens AUROC of the field scores: {float(auroc):.3f}")
    stem = args.output / "lens_real"
    save_gallery(torch.cat(images), detections, torch.cat(scores), names, stem.with_suffix(".png"))
    with stem.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["name", "kind", "score"])
        writer.writeheader()
        writer.writerows(table)
    return "\n".join(f"- {line}" for line in lines)


# -- command --------------------------------------------------------------------------------
def run_lens_benchmark(args: argparse.Namespace) -> str:
    """The table (and the real-lens gallery); the Markdown written."""
    pretrained = (
        checked_checkpoint(args.pretrained, MaskedAutoencoderTask, "--pretrained")
        if args.pretrained
        else None
    )
    runs = args.output / "lens"
    probe = configure(args.config, runs / "probe", args.steps, args.seed, [])
    if not isinstance(probe.model, LensDetectionTask):
        raise ConfigError(
            f"--config {describe_config(args.config)} does not configure a LensDetectionTask"
        )
    backbone = probe.model.backbone
    methods = compared_methods(pretrained, backbone.in_chans, backbone.img_size)
    rows, folders = benchmark_rows(args.config, methods, args.steps, runs, args.seed)
    fields = probe.datamodule.fields
    notes = (
        f"Simulated lens fields of {describe_config(args.config)}: {fields.n_fields} fields "
        f"of {fields.field_size} "
        f"px ({probe.datamodule.val_size} validation, {probe.datamodule.test_size} test, the "
        f"rest training), seed {fields.seed}. Every row trains "
        f"{args.steps or probe.trainer.max_steps} steps of the config's schedule from seed "
        f"{args.seed}. map = COCO mAP@0.5:0.95; auroc: lens / no-lens of each field's best "
        f"score; precision and recall of boxes scoring at least 0.5 and 0.9, matched at IoU 0.5. "
        f"MAE weights: {pretrained}. Runs in {runs}."
    )
    text = write_report(rows, COLUMNS, args.output / "lens", "Strong-lens detection", notes)
    if args.real_lenses is None and args.non_lenses is None:
        return text
    best = max(
        (row for row in rows if row["method"].startswith("galvision")), key=lambda r: r["auroc"]
    )
    key = next(m.key for m in methods if (m.name, m.training) == (best["method"], best["training"]))
    task = load_checkpoint_task(folders[key] / LAST, LensDetectionTask)
    summary = real_gallery(args, task, probe.datamodule)
    gallery = (
        f"\n### Real HST lenses and galaxies as survey fields ({best['method']}, "
        f"{best['training']})\n\n{summary}\n\nGallery: {args.output / 'lens_real.png'}; scores: "
        f"{args.output / 'lens_real.csv'}.\n"
    )
    with (args.output / "lens.md").open("a") as handle:
        handle.write(gallery)
    return text + gallery


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``galvision benchmark lens``."""
    add_config_argument(parser, "tasks/lens.yaml", "lens task")
    parser.add_argument("--pretrained", type=Path, help="MAE checkpoint for row (c)")
    parser.add_argument("--steps", type=int, help="training steps of every run (default: config)")
    parser.add_argument("--real-lenses", type=Path, help="HST lens images (real_lenses_hst.h5)")
    parser.add_argument("--non-lenses", type=Path, help="HST galaxies (cosmos_hst_ext100.h5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every run")
    parser.add_argument("--output", type=Path, default=Path("benchmark_results"))


def run(args: argparse.Namespace) -> str:
    """Run ``galvision benchmark lens`` from parsed arguments."""
    return run_lens_benchmark(args)
