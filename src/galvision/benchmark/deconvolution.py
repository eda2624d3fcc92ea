"""The deconvolution benchmark: blurred input, Wiener, Richardson-Lucy and the model."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from galvision.baselines.deconvolution import (
    richardson_lucy_restore,
    tune_baseline,
    wiener_restore,
)
from galvision.benchmark.arguments import named_values
from galvision.benchmark.report import with_suffix, write_report
from galvision.checkpoints import load_checkpoint_data, load_checkpoint_task
from galvision.consistency import guard
from galvision.data import keys
from galvision.data.datamodules import SurveyDataModule, SurveyDataset
from galvision.data.intensity import DATA_RANGE, magnitude_to_flux, to_display, to_flux
from galvision.data.real_truth import load_truth
from galvision.errors import ConfigError
from galvision.metrics import ColourError, restoration_metrics
from galvision.plotting import save_image_grid
from galvision.tasks.deconvolution import DeconvolutionTask
from galvision.transforms import apply_transforms

log = logging.getLogger(__name__)
COLUMNS = ("method", "setting", "mse", "psnr", "ssim", "colour_mae")
MODEL = "galvision"  # the name of a single --ckpt given without NAME=
RICHARDSON_LUCY = "Richardson–Lucy (scikit-image, true PSF)"
BASELINES = {
    "Wiener (scikit-image, true PSF)": (wiener_restore, "balance"),
    RICHARDSON_LUCY: (richardson_lucy_restore, "iterations"),
}


@dataclass
class ObservedSet:
    """Observations of one evaluation set with everything the methods and metrics need."""

    observed: np.ndarray  # linear flux (N, C, H, W)
    psf: np.ndarray  # (N, C, k, k)
    target_psf: np.ndarray  # (1, C, k, k)
    target: torch.Tensor  # display space (N, C, H, W)
    restored: torch.Tensor  # the model's output, display space
    sky_sigma: torch.Tensor  # (N, C) noise of each image, for the consistency guard
    gain: torch.Tensor  # (N, C)


def load_survey(ckpt: Path) -> SurveyDataModule:
    """The simulated survey the checkpoint was trained on (built into the cache if needed)."""
    data = load_checkpoint_data(ckpt, SurveyDataModule)
    data.prepare_data()
    data.setup("test")
    return data


def observe(task: DeconvolutionTask, dataset: Dataset, limit: int | None = None) -> ObservedSet:
    """Observe a dataset with the task's test-stage transforms and restore it with the model."""
    names = ("observed", "psf", "target", "restored", "sky_sigma", "gain")
    parts: dict[str, list] = {k: [] for k in names}
    seen = 0
    with torch.no_grad():
        for batch in tqdm(DataLoader(dataset, batch_size=64), desc="restoring", leave=False):
            batch = apply_transforms(task.transforms, batch, "test")
            restored = task.restore(batch)
            parts["observed"].append(batch[keys.OBSERVED].numpy())
            parts["psf"].append(batch[keys.PSF].numpy())
            parts["target"].append(batch[keys.TARGET])
            parts["restored"].append(restored.clamp(0, DATA_RANGE))
            parts["sky_sigma"].append(batch[keys.SKY_SIGMA])
            parts["gain"].append(batch[keys.GAIN])
            seen += len(restored)
            if limit and seen >= limit:
                break
    return ObservedSet(
        observed=np.concatenate(parts["observed"])[:limit],
        psf=np.concatenate(parts["psf"])[:limit],
        target_psf=dataset.target_psf[None].numpy(),
        target=torch.cat(parts["target"])[:limit],
        restored=torch.cat(parts["restored"])[:limit],
        sky_sigma=torch.cat(parts["sky_sigma"])[:limit],
        gain=torch.cat(parts["gain"])[:limit],
    )


def score(restored: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """MSE, PSNR, SSIM and colour error over a whole set in display space."""
    metrics = restoration_metrics()
    metrics.add_metrics({"colour_mae": ColourError()})
    metrics.update(restored.float().clamp(0, DATA_RANGE), target.float())
    return {name: float(value) for name, value in metrics.compute().items()}


def parse_checkpoints(values: list[str]) -> dict[str, Path]:
    """``--ckpt`` values: one PATH, or NAME=PATH rows compared on the same observations."""
    if len(values) == 1 and "=" not in values[0]:
        return {MODEL: Path(values[0])}
    return {name: Path(path) for name, path in named_values(values, "--ckpt", "PATH").items()}


def run_deconvolution_benchmark(
    checkpoints: dict[str, Path] | Path,
    output: Path,
    truth: Path | None = None,
    max_mag: float | None = None,
    brighten: float = 0.0,
    tune_images: int = 64,
    grid_images: int = 8,
    flux_scale: float = 1.0,
    magnify: float = 1.0,
    guard_factor: float | None = None,
) -> str:
    """Evaluate models and baselines on the survey's test set or on user ``truth`` images.

    The first checkpoint's survey observes every image (PSFs, noise) and tunes the baselines,
    so every model restores the same observations. ``flux_scale`` turns the pixels of HDF5 and
    FITS truth files into nanomaggies; ``magnify`` shows COSMOS galaxies that many times larger
    at the same surface brightness. ``guard_factor`` adds, for every model, a row where images
    whose restoration explains the observation worse than ``guard_factor`` times
    Richardson–Lucy's (reduced χ², galvision.consistency) are replaced by Richardson–Lucy's.
    """
    if isinstance(checkpoints, Path):
        checkpoints = {MODEL: checkpoints}
    tasks = {
        name: load_checkpoint_task(ckpt, DeconvolutionTask) for name, ckpt in checkpoints.items()
    }
    first = next(iter(checkpoints))
    survey = load_survey(checkpoints[first])
    tuning = observe(tasks[first], survey.datasets["val"], limit=tune_images)
    if truth is None:
        name, dataset = "simulated", survey.datasets["test"]
        title = f"Deconvolution, simulated survey test set ({len(dataset)} galaxies)"
    else:
        name, dataset, title = truth_set(survey, truth, max_mag, brighten, flux_scale, magnify)
    observed = {model: observe(task, dataset) for model, task in tasks.items()}
    test = observed[first]
    rows = [
        {
            "method": "blurred input",
            "setting": "",
            **score(to_display(torch.from_numpy(test.observed)), test.target),
        }
    ]
    restored_by, flux_by = {}, {}
    for label, (method, parameter) in BASELINES.items():
        best, _ = tune_baseline(
            method, tuning.observed, tuning.psf, tuning.target_psf, tuning.target.numpy()
        )
        flux = method(test.observed, test.psf, best, target_psf=test.target_psf)
        flux_by[label] = torch.from_numpy(flux).float()
        restored_by[label] = to_display(flux_by[label]).clamp(0, DATA_RANGE)
        rows.append(
            {
                "method": label,
                "setting": f"{parameter} {best:g}",
                **score(restored_by[label], test.target),
            }
        )
    for model, result in observed.items():
        method = f"galvision {type(tasks[model]).__name__}" if model == MODEL else model
        setting = str(checkpoints[model]) if model != MODEL else Path(checkpoints[model]).name
        rows.append({"method": method, "setting": setting, **score(result.restored, test.target)})
        if guard_factor is not None:
            guarded, replaced = guard(
                to_flux(result.restored.float()),
                flux_by[RICHARDSON_LUCY],
                torch.from_numpy(test.observed).float(),
                torch.from_numpy(test.psf).float(),
                test.sky_sigma.float(),
                test.gain.float(),
                guard_factor,
            )
            rows.append(
                {
                    "method": f"{method} + consistency guard",
                    "setting": f"RL where χ² > {guard_factor:g}× RL's: "
                    f"{int(replaced.sum())}/{len(replaced)}",
                    **score(to_display(guarded).clamp(0, DATA_RANGE), test.target),
                }
            )
    stem = output / f"deconv_{name}"
    count = min(grid_images, len(test.target))
    columns = {
        "observed": to_display(torch.from_numpy(test.observed[:count])).numpy(),
        "Richardson–Lucy": restored_by[RICHARDSON_LUCY][:count],
    }
    columns |= {model: result.restored[:count].numpy() for model, result in observed.items()}
    save_image_grid(
        columns | {"truth": test.target[:count].numpy()},
        with_suffix(stem, ".png"),
        crop=test.target.shape[-1] // 2,
        brightness=1.6,
    )
    notes = (
        "Display space: asinh(flux / 0.05 nmgy) / asinh(100 / 0.05), data range 1; targets "
        "are the galaxies through a 0.1″ Gaussian PSF. colour MAE: mean absolute error of each "
        "band minus the mean of the bands (tint added to grey sources, colour lost or "
        f"invented). Baseline settings tuned for PSNR on {tune_images} validation galaxies."
    )
    return write_report(rows, COLUMNS, stem, title, notes)


def truth_set(
    survey: SurveyDataModule,
    truth: Path,
    max_mag: float | None,
    brighten: float,
    flux_scale: float,
    magnify: float,
) -> tuple[str, SurveyDataset, str]:
    """The truth images observed like the survey: a file name, the dataset and a table title."""
    clean, _ = load_truth(
        truth,
        bands=survey.num_bands,
        size=survey.image_size,
        pixel_scale=survey.survey.pixel_scale,
        max_mag=max_mag,
        flux_scale=flux_scale,
        min_size=survey.survey.psf_size,
        magnify=magnify,
    )
    clean = clean * np.float32(10 ** (0.4 * brighten))
    name = Path(truth).stem + (f"_brighter{brighten:g}mag" if brighten else "")
    name += f"_magnified{magnify:g}" if magnify != 1 else ""
    bank = survey.datasets["test"]
    dataset = SurveyDataset(
        bank.path,
        np.arange(len(clean)),
        train=False,
        bands=survey.survey.bands,
        seed=bank.seed,
        clean=clean,
        preset=survey.survey.preset,
    )
    subset = f", mag < {max_mag}" if max_mag is not None else ""
    subset += f", brightened by {brighten:g} mag" if brighten else ""
    subset += f", magnified {magnify:g}×" if magnify != 1 else ""
    title = f"Deconvolution, real truth images from {Path(truth).name} ({len(clean)}{subset})"
    return name, dataset, title


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``galvision benchmark deconv``."""
    parser.add_argument(
        "--ckpt",
        nargs="+",
        required=True,
        metavar="[NAME=]PATH",
        help="checkpoint of `galvision fit`, or several as NAME=PATH rows restoring the same "
        "observations (the first one's survey observes them)",
    )
    parser.add_argument(
        "--truth",
        type=Path,
        default=None,
        help="high-resolution truth: HDF5 (COSMOS layout or images), or a "
        "folder/file of FITS/PNG; default: the simulated test set",
    )
    parser.add_argument(
        "--max-mag",
        type=float,
        default=None,
        help="keep truth galaxies brighter than this (COSMOS layout)",
    )
    parser.add_argument(
        "--brighten",
        type=float,
        default=0.0,
        metavar="MAG",
        help="make truth galaxies MAG magnitudes brighter (shapes at the training S/N)",
    )
    units = parser.add_mutually_exclusive_group()
    units.add_argument(
        "--truth-flux-scale",
        type=float,
        default=None,
        metavar="SCALE",
        help="nanomaggies per unit of the HDF5/FITS truth pixels (default 1: nanomaggies)",
    )
    units.add_argument(
        "--truth-zero-point",
        type=float,
        default=None,
        metavar="ZP",
        help="AB magnitude of one unit of the truth pixels (e.g. counts/s and the band's ZP)",
    )
    parser.add_argument(
        "--magnify",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="show COSMOS truth galaxies FACTOR times larger at the same surface brightness, "
        "filling the stamp",
    )
    parser.add_argument(
        "--guard",
        type=float,
        default=None,
        metavar="FACTOR",
        help="add rows where each model falls back to Richardson–Lucy on images it explains "
        "FACTOR times worse (reduced χ² of the re-blurred restoration; e.g. 2)",
    )
    parser.add_argument(
        "--tune-images", type=int, default=64, help="validation galaxies used to tune the baselines"
    )
    parser.add_argument("--output", type=Path, default=Path("benchmark_results"))


def run(args: argparse.Namespace) -> str:
    """Run ``galvision benchmark deconv`` from parsed arguments."""
    return run_deconvolution_benchmark(
        parse_checkpoints(args.ckpt),
        args.output,
        truth=args.truth,
        max_mag=args.max_mag,
        brighten=args.brighten,
        tune_images=args.tune_images,
        flux_scale=truth_flux_scale(args.truth_flux_scale, args.truth_zero_point),
        magnify=args.magnify,
        guard_factor=args.guard,
    )


def truth_flux_scale(scale: float | None, zero_point: float | None) -> float:
    """Nanomaggies per truth-pixel unit, from a scale or an AB zero point (22.5: nanomaggies)."""
    if zero_point is not None:
        return float(magnitude_to_flux(zero_point))
    if scale is not None and not scale > 0:
        raise ConfigError(f"--truth-flux-scale={scale} must be positive")
    return 1.0 if scale is None else scale
