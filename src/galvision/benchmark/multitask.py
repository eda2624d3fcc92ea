"""``galvision benchmark multitask``: single-task against multi-task training at equal budget.

Two tables, on fixed seeded test sets: deconvolution (the blurred input, Richardson–Lucy, each
trained row) and masked reconstruction (the masked input, biharmonic inpainting, each trained
row) in MSE / PSNR / SSIM, plus the classification accuracy and lens AUROC of the same runs.
Reconstruction is scored on the masked pixels against the noise-free observation the
simulation has. Every trained row (``galvision.benchmark.multitask_runs``) gets the same total
number of steps, and is repeated over ``--seeds``: a cell is the mean over seeds, ``±`` half
their range. Every row starts from one task drawn per step by the active sampler
(:data:`DRAWN_CONFIG`) and sets what it changes: its sampler, every task each step, ...
"""

from __future__ import annotations

import argparse
import csv
import shutil
import statistics
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import Dataset, Subset

from galvision.baselines.deconvolution import tune_baseline
from galvision.baselines.inpainting import biharmonic_inpaint
from galvision.benchmark.deconvolution import BASELINES, RICHARDSON_LUCY, observe, score
from galvision.benchmark.multitask_runs import (
    DEFAULT_ROWS,
    VARIANTS,
    Run,
    run_folder,
    train_variant,
)
from galvision.benchmark.paired import paired_rows
from galvision.benchmark.reconstruction import mask_and_reconstruct, masked_score, with_masks
from galvision.benchmark.report import half_range, with_spread, write_report
from galvision.benchmark.training import add_config_argument, describe_config
from galvision.checkpoints import load_checkpoint_data, load_checkpoint_task
from galvision.data.intensity import DATA_RANGE, to_display
from galvision.data.multitask_datamodule import MultiTaskDataModule
from galvision.errors import ConfigError
from galvision.tasks.base import GalaxyTask
from galvision.tasks.multitask import MultiTask
from galvision.transforms.masking import MaskGenerator

DRAWN_CONFIG = ("tasks/multitask.yaml", "configs/overlays/multitask_drawn.yaml")
RESTORATION = ("mse", "psnr", "ssim")
MASK_FRACTION = 0.5
TUNE_IMAGES = 64
# Row against row, each seed against itself: every multi-task row against single-task, and the
# other samplers against uniform.
PAIRS = (("uniform", "single"), ("active", "single"), ("active", "uniform"),
         ("progress", "single"), ("progress", "uniform"), ("target", "single"),
         ("target", "uniform"),
         ("uncertainty", "single"), ("uncertainty", "uniform"), ("active_uncertainty", "uniform"),
         ("active_uncertainty", "uncertainty"), ("per_task", "single"),
         ("per_task", "uniform"), ("task_norms", "single"), ("task_norms", "uniform"),
         ("adapters", "single"), ("adapters", "uniform"), ("mixed", "single"),
         ("mixed", "single_small"), ("mixed", "uniform"), ("mixed_active", "mixed"),
         ("mixed_active", "active"), ("mixed_uncertainty", "mixed"),
         ("mixed_uncertainty", "uncertainty"), ("mixed_uncertainty", "single_small"),
         ("mixed_active_uncertainty", "mixed_uncertainty"),
         ("mixed_active_uncertainty_deconv_floor", "mixed_uncertainty"),
         ("mixed_active_uncertainty_deconv_floor", "mixed_active_uncertainty"),
         ("mixed_active_uncertainty_deconv_classify_floor", "mixed_uncertainty"),
         ("mixed_progress_uncertainty", "mixed_uncertainty"), ("mixed_upgrad", "mixed"),
         ("mixed_pcgrad", "mixed"), ("single_small", "single"), ("single", "frozen"))  # fmt: skip
PAIRED_COLUMNS = ("deconv_psnr", "deconv_ssim", "reconstruct_psnr", "reconstruct_ssim")


def split_of(data: MultiTaskDataModule, name: str, split: str = "test") -> Dataset:
    """One task's ``split``."""
    source = data.datamodules[name]
    source.prepare_data()
    source.setup("test")
    return source.datasets[split]


class Evaluation:
    """Scores of trained runs, and of the input and classical baselines, on fixed test sets."""

    def __init__(self, images: int, deconv: str, reconstruct: str) -> None:
        self.images, self.deconv, self.reconstruct = images, deconv, reconstruct
        self.baselines: dict[str, dict[str, dict[str, float]]] = {}

    def run_scores(self, run: Run) -> dict[str, float]:
        """Every column of one run's tasks, each task seeing the backbone as it trained on it
        (with its own norm offsets and adapters, if it has them)."""
        multitask = load_checkpoint_task(run.checkpoint, MultiTask)
        data = load_checkpoint_data(run.checkpoint, MultiTaskDataModule)
        found = {}
        if self.deconv in run.tasks:
            with multitask.conditioned_on(self.deconv):
                found |= self.deconv_scores(multitask.tasks[self.deconv], data)
        if self.reconstruct in run.tasks:
            with multitask.conditioned_on(self.reconstruct):
                found |= self.reconstruct_scores(multitask.tasks[self.reconstruct], data)
        for name in run.tasks:
            for metric in ("accuracy", "auroc"):
                if f"test/{name}/{metric}" in run.metrics:
                    found[f"{name}_{metric}"] = run.metrics[f"test/{name}/{metric}"]
        return found

    def deconv_scores(self, task: GalaxyTask, data: MultiTaskDataModule) -> dict[str, float]:
        """The deconvolution task's columns; the baselines' the first time."""
        test = observe(task, split_of(data, self.deconv), self.images)
        self.deconv_baselines(task, data, test)
        return {f"deconv_{k}": v for k, v in score(test.restored, test.target).items()}

    def reconstruct_scores(self, task: GalaxyTask, data: MultiTaskDataModule) -> dict[str, float]:
        """The reconstruction task's columns; the baselines' the first time."""
        masks = MaskGenerator({"patches": 1.0}, MASK_FRACTION, patch_size=task.backbone.patch_size)
        test = mask_and_reconstruct(
            task,
            with_masks(task.transforms, masks),
            first(split_of(data, self.reconstruct), self.images),
        )
        self.reconstruct_baselines(test)
        found = prefixed("reconstruct", masked_score(test.restored, test.noiseless, test.mask))
        full = score(test.restored, test.target.clamp(0, DATA_RANGE))
        return found | {"reconstruct_full_psnr": full["psnr"]}

    def deconv_baselines(self, task, data: MultiTaskDataModule, test) -> None:
        """The blurred input and Richardson–Lucy (tuned on validation galaxies), once."""
        if "deconv" in self.baselines:
            return
        tuning = observe(task, split_of(data, self.deconv, "val"), TUNE_IMAGES)
        method, parameter = BASELINES[RICHARDSON_LUCY]
        best, _ = tune_baseline(
            method, tuning.observed, tuning.psf, tuning.target_psf, tuning.target.numpy()
        )
        restored = to_display(
            torch.from_numpy(method(test.observed, test.psf, best, target_psf=test.target_psf))
        )
        blurred = to_display(torch.from_numpy(test.observed))
        self.baselines["deconv"] = {
            "blurred input": prefixed("deconv", score(blurred, test.target)),
            f"{RICHARDSON_LUCY}, {parameter} {best:g}": prefixed(
                "deconv", score(restored.float(), test.target)
            ),
        }

    def reconstruct_baselines(self, test) -> None:
        """The masked input and biharmonic inpainting, once."""
        if "reconstruct" in self.baselines:
            return
        filled = torch.from_numpy(biharmonic_inpaint(test.image.numpy(), test.mask.numpy()))
        self.baselines["reconstruct"] = {
            label: prefixed("reconstruct", masked_score(image, test.noiseless, test.mask))
            | {"reconstruct_full_psnr": score(image, test.target.clamp(0, DATA_RANGE))["psnr"]}
            for label, image in (("masked input", test.image),
                                 ("biharmonic inpainting (scikit-image)", filled))
        }  # fmt: skip


def first(dataset: Dataset, count: int) -> Subset:
    """The first ``count`` samples of ``dataset``."""
    return Subset(dataset, range(min(count, len(dataset))))


def prefixed(prefix: str, scores: dict[str, float]) -> dict[str, float]:
    """``scores`` with every key as ``<prefix>_<key>``."""
    return {f"{prefix}_{key}": value for key, value in scores.items()}


def mean_and_spread(values: Sequence[dict[str, float]]) -> dict[str, float]:
    """Per column: the mean over seeds and half their range (``<column>_pm``)."""
    row = {}
    for column in sorted({key for found in values for key in found}):
        seen = [found[column] for found in values if column in found]
        row[column] = statistics.fmean(seen)
        row[f"{column}_pm"] = half_range(seen)
    return row


def shares_moved(proportions_csv: Path) -> bool:
    """Whether a run's sampler changed the task proportions during training."""
    with proportions_csv.open(newline="") as handle:
        shares = {
            tuple(value for column, value in row.items() if column != "step")
            for row in csv.DictReader(handle)
        }
    return len(shares) > 1


def copy_moving_proportions(output: Path, rows: Sequence[str], seed: int) -> None:
    """Beside the tables, ``multitask_proportions_<row>.png`` of each row whose sampler moved
    the task proportions, from its run of ``seed``."""
    for key in rows:
        logs = run_folder(output, key, seed) / "logs"
        tables = sorted(logs.glob("version_*/task_proportions.csv"))
        if tables and shares_moved(tables[-1]):
            shutil.copy(tables[-1].with_suffix(".png"), output / f"multitask_proportions_{key}.png")


def run(args: argparse.Namespace) -> str:
    """Run ``galvision benchmark multitask`` from parsed arguments."""
    check_arguments(args)
    rows = [key for key in args.rows if key != "frozen" or args.foundation is not None]
    evaluation = Evaluation(args.images, args.deconv_task, args.reconstruct_task)
    trained, by_seed = {}, {}
    for key in rows:
        by_seed[key] = []
        for seed in args.seeds:
            scores: dict[str, float] = {}
            for one in train_variant(args, key, seed):
                scores |= evaluation.run_scores(one)
            by_seed[key].append(scores)
        trained[key] = {"method": VARIANTS[key].label, **mean_and_spread(by_seed[key])}
        print(f"{key}: trained and scored for seeds {args.seeds}", flush=True)
    copy_moving_proportions(args.output, rows, args.seeds[0])
    notes = (
        f"{describe_config(args.config)}: {args.steps} steps per trained row, seeds "
        f"{', '.join(map(str, args.seeds))} (± half the range over seeds), validation "
        f"{args.updates} times a run"
        + (f", every backbone starting from {args.foundation}." if args.foundation else ".")
    )
    text = table(
        evaluation,
        trained,
        "deconv",
        "Multi-task: deconvolution",
        args,
        f"{args.images} test galaxies, display space (data range 1). {notes}",
    )
    text += "\n" + table(evaluation, trained, "reconstruct", "Multi-task: masked reconstruction",
                         args, f"{args.images} test galaxies, {MASK_FRACTION:.0%} of each in 8×8 "
                         "patches masked; MSE/PSNR over the masked pixels and SSIM of the image "
                         "filled in, against the noise-free observation; full PSNR: the whole "
                         f"image against the noisy observation. {notes}")  # fmt: skip
    others = [
        c for c in ("classify_accuracy", "lens_auroc") if any(c in r for r in trained.values())
    ]
    text += "\n" + write_report(
        [cells(row, "", others) for row in trained.values()], ["method", *others],
        args.output / "multitask_classes", "Multi-task: classification and lens finding",
        f"Whole test sets. {notes}",
    )  # fmt: skip
    if len(args.seeds) > 1:
        text += "\n" + paired_table(by_seed, [*PAIRED_COLUMNS, *others], args.output, notes)
    return text


def paired_table(by_seed: dict, columns: list[str], output: Path, notes: str) -> str:
    """Each pair of trained rows compared seed by seed ("" when fewer than two rows were)."""
    labels = {key: variant.short for key, variant in VARIANTS.items()}
    rows = paired_rows(by_seed, PAIRS, labels, columns)
    if not rows:
        return ""
    return write_report(
        rows, ["comparison", *columns],
        output / "multitask_paired", "Multi-task: paired differences over seeds",
        "Each cell: the difference of the two rows trained from the same seed, as the mean over "
        "seeds ± half their range, and (n/N) the seeds in which the first row is ahead; n = N "
        f"means every seed agrees. PSNR and SSIM as in the tables above. {notes}",
    )  # fmt: skip


def table(evaluation: Evaluation, trained: dict, task: str, title: str, args, notes: str) -> str:
    """One restoration table: baselines, then the trained rows (mean ± half the range)."""
    columns = list(RESTORATION) + (["full_psnr"] if task == "reconstruct" else [])
    rows = [
        {"method": label, **found} for label, found in evaluation.baselines.get(task, {}).items()
    ]
    rows += list(trained.values())
    return write_report(
        [cells(row, task, columns) for row in rows], ["method", *columns],
        args.output / f"multitask_{task}", title, notes,
    )  # fmt: skip


def cells(row: dict, task: str, columns: list[str]) -> dict[str, str]:
    """A table row of ``task``'s ``columns``: each mean with its spread where there is one."""
    found = {"method": row["method"]}
    for column in columns:
        key = f"{task}_{column}" if task else column
        if key in row:
            found[column] = with_spread(column, row[key], row.get(f"{key}_pm"))
    return found


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``galvision benchmark multitask``."""
    add_config_argument(parser, DRAWN_CONFIG, "the multi-task config every row starts from")
    parser.add_argument("--steps", type=int, default=480, help="training steps of every row")
    parser.add_argument("--updates", type=int, default=8, help="validations (active updates) a run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument(
        "--rows", nargs="+", choices=list(VARIANTS), default=list(DEFAULT_ROWS),
        help="trained rows (frozen needs --foundation; the rows after uncertainty only when "
        "named)",
    )  # fmt: skip
    parser.add_argument(
        "--test-batches", type=int, help="test batches per task for accuracy and AUROC (all)"
    )
    parser.add_argument("--foundation", help="backbone weights every row starts from")
    parser.add_argument("--images", type=int, default=200, help="test galaxies scored")
    parser.add_argument("--deconv-task", default="deconv", help="name of the deconvolution task")
    parser.add_argument("--reconstruct-task", default="reconstruct")
    parser.add_argument("--output", type=Path, default=Path("benchmark_results"))


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse budgets and seeds that measure nothing."""
    if args.steps < 1 or args.updates < 1:
        raise ConfigError(f"--steps {args.steps} and --updates {args.updates} must be ≥ 1")
