"""The sim-to-real benchmark: simulated surveys judged on real Galaxy Zoo 1 galaxies.

Each variant is a data config of the simulated morphology survey (a survey preset, a galaxy
model). A classifier trains on that simulation alone (the task config, the same steps and seed
for every variant) and classifies the fixed GZ1 test split with its classes summed onto GZ1's;
no real label is used. Beside it, the domain gap: the cross-validated accuracy of a logistic
regression telling the variant's simulated images from real ones (the unlabelled GZ1 pool),
0.5 when they cannot be told apart, on pixels (PCA) and on frozen foundation features; and the
display statistics a reader checks first, central brightness and colours, against the real
images'. A gallery puts simulated and real galaxies of each class side by side.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch.utils.data import DataLoader, Subset

from galvision import api
from galvision.benchmark.arguments import named_values
from galvision.benchmark.gz1_scores import (
    REAL_PATH,
    SIM_TO_GZ1,
    gather_classes,
    predict_probabilities,
    real_scores,
)
from galvision.benchmark.report import write_report
from galvision.benchmark.training import (
    LAST,
    add_config_argument,
    configure,
    describe_config,
    loaded_backbone,
    resumable_run,
)
from galvision.checkpoints import load_checkpoint_task
from galvision.data import keys
from galvision.errors import ConfigError
from galvision.plotting import save_image_grid
from galvision.tasks.classification import ClassificationTask
from galvision.transforms import apply_transforms

DOMAIN_FOLDS = 5
PIXEL_COMPONENTS = 32
CENTRE_FRACTION = 3 / 16  # half-width of the central box: 12×12 pixels of a 64-pixel stamp
GALLERY_PER_CLASS = 4
GZ1_CLASSES = ("elliptical", "spiral", "edge_on", "merger")


def parse_variants(values: list[str]) -> dict[str, Path]:
    """``["sdss=configs/data/morphology_sdss.yaml", ...]`` -> names and existing data configs."""
    variants = named_values(values, "--variants", "DATA_CONFIG")
    for name, path in variants.items():
        if not Path(path).is_file():
            raise ConfigError(f"--variants: {name}: no such data config {path}")
    return {name: Path(path) for name, path in variants.items()}


@torch.no_grad()
def observed_images(task: ClassificationTask, dataset, count: int) -> tuple[torch.Tensor, ...]:
    """The first ``count`` images and labels of a dataset, observed as the test stage does."""
    images, labels = [], []
    subset = Subset(dataset, range(min(count, len(dataset))))
    for batch in DataLoader(subset, batch_size=128):
        batch = apply_transforms(task.transforms, batch, "test")
        images.append(batch[keys.IMAGE].clamp(0, 1))
        labels.append(batch[keys.LABEL])
    return torch.cat(images), torch.cat(labels)


def real_images(dataset, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` images and labels spread evenly over a real catalogue."""
    rows = np.linspace(0, len(dataset) - 1, min(count, len(dataset))).astype(int)
    samples = [dataset[int(row)] for row in rows]
    return (
        torch.stack([sample[keys.IMAGE] for sample in samples]),
        torch.stack([torch.as_tensor(sample[keys.LABEL]) for sample in samples]),
    )


def domain_accuracy(simulated: np.ndarray, real: np.ndarray, reduce: bool, seed: int) -> float:
    """Cross-validated accuracy of telling simulated from real feature rows (0.5: no gap)."""
    features = np.concatenate([simulated, real]).reshape(len(simulated) + len(real), -1)
    origin = np.r_[np.zeros(len(simulated)), np.ones(len(real))]
    steps = [StandardScaler()]
    if reduce:
        fitted_rows = len(features) * (DOMAIN_FOLDS - 1) // DOMAIN_FOLDS
        steps.append(PCA(min(PIXEL_COMPONENTS, fitted_rows - 1), random_state=seed))
    model = make_pipeline(*steps, LogisticRegression(max_iter=2000))
    folds = StratifiedKFold(DOMAIN_FOLDS, shuffle=True, random_state=seed)
    return float(cross_val_score(model, features, origin, cv=folds).mean())


def display_statistics(
    images: torch.Tensor, elliptical: torch.Tensor, spiral: torch.Tensor
) -> dict[str, float]:
    """Mean central brightness, and central red-minus-blue of ellipticals and of spirals."""
    side = images.shape[-1]
    half = max(1, round(side * CENTRE_FRACTION))
    box = slice(side // 2 - half, side // 2 + half)
    centre = images[:, :, box, box].mean((2, 3))
    redness = centre[:, -1] - centre[:, 0]
    return {
        "centre": float(centre.mean()),
        "colour_elliptical": float(redness[elliptical].mean()),
        "colour_spiral": float(redness[spiral].mean()),
    }


def gz1_masks(labels: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
    """Which of ``labels`` (over ``names``) map onto each GZ1 class."""
    mapped = [SIM_TO_GZ1.get(name, name) for name in names]
    return {
        gz1: torch.tensor([mapped[int(label)] == gz1 for label in labels], dtype=torch.bool)
        for gz1 in GZ1_CLASSES
    }


def gallery_panel(images: torch.Tensor, masks: dict[str, torch.Tensor]) -> np.ndarray:
    """``GALLERY_PER_CLASS`` images of each GZ1 class in turn (blank where a class is absent)."""
    rows = []
    for gz1 in GZ1_CLASSES:
        chosen = images[masks[gz1]][:GALLERY_PER_CLASS]
        blank = torch.zeros(GALLERY_PER_CLASS - len(chosen), *images.shape[1:])
        rows.append(torch.cat([chosen, blank]))
    return torch.cat(rows).numpy()


def run_sim2real_benchmark(args: argparse.Namespace) -> str:
    """Train on every variant, score on GZ1, measure the domain gap; write table and gallery."""
    variants = parse_variants(args.variants)
    for flag, path in (("--real", args.real), ("--pool", args.pool)):
        if not path.is_file():
            raise ConfigError(f"{flag}: no such file {path}")
    foundation = None
    if args.foundation is not None:
        foundation = loaded_backbone("--foundation", args.foundation).eval()
    runs = args.output / "sim2real"
    real = configure(args.real_config, runs / "real", 1, args.seed, [REAL_PATH, str(args.real)])
    real.datamodule.setup("fit")
    names = real.datamodule.class_names
    pool = configure(args.real_config, runs / "pool", 1, args.seed, [REAL_PATH, str(args.pool)])
    pool_images, pool_labels = real_images(pool.datamodule.dataset, args.images)
    pool_masks = gz1_masks(pool_labels, names)
    reference = display_statistics(pool_images, pool_masks["elliptical"], pool_masks["spiral"])
    shown_images, shown_labels = real_images(real.datamodule.datasets["train"], 400)
    panels = {"real GZ1": gallery_panel(shown_images, gz1_masks(shown_labels, names))}
    rows = []
    for name, data in variants.items():
        folder = runs / name
        metrics = resumable_run(args.config, folder, args.steps, args.seed, ["--data", str(data)])
        task = load_checkpoint_task(folder / LAST, ClassificationTask)
        probabilities, labels = predict_probabilities(task, real.datamodule, "test")
        scores = real_scores(gather_classes(probabilities, task.class_names, names), labels, names)
        simulated = configure(args.config, folder / "data", 1, args.seed, ["--data", str(data)])
        simulated.datamodule.setup("test")
        sim_images, sim_labels = observed_images(
            task, simulated.datamodule.datasets["test"], args.images
        )
        masks = gz1_masks(sim_labels, task.class_names)
        row = {
            "variant": name,
            **{f"gz1_{metric}": value for metric, value in scores.items()},
            "sim_accuracy": metrics["test/accuracy"],
            "domain_pixels": domain_accuracy(
                sim_images.numpy(), pool_images.numpy(), True, args.seed
            ),
            **display_statistics(sim_images, masks["elliptical"], masks["spiral"]),
        }
        if foundation is not None:
            row["domain_foundation"] = domain_accuracy(
                api.embed(foundation, sim_images), api.embed(foundation, pool_images), False,
                args.seed,
            )  # fmt: skip
        rows.append(row)
        panels[name] = gallery_panel(sim_images, masks)
    gallery = save_image_grid(
        panels,
        args.output / "sim2real_gallery.png",
        captions=[gz1 for gz1 in GZ1_CLASSES for _ in range(GALLERY_PER_CLASS)],
    )
    columns = [
        "variant", "gz1_accuracy", "gz1_f1_macro", "gz1_auroc_spiral", "sim_accuracy",
        "domain_pixels", *(["domain_foundation"] if foundation is not None else []),
        "centre", "colour_elliptical", "colour_spiral",
    ]  # fmt: skip
    notes = (
        f"Each variant trains {describe_config(args.config)} with its data config for "
        f"{args.steps} steps from seed {args.seed} on simulation only "
        f"({', '.join(f'{k}: {v}' for k, v in variants.items())}), then classifies the "
        f"{len(real.datamodule.datasets['test'])} test galaxies of {args.real} "
        f"({describe_config(args.real_config)}) with its classes summed onto GZ1's. "
        f"domain_*: {DOMAIN_FOLDS}-fold accuracy of a logistic regression telling "
        f"{args.images} simulated test images from {len(pool_images)} real images of "
        f"{args.pool} (0.5: indistinguishable), on pixels (PCA {PIXEL_COMPONENTS}) and on the "
        f"frozen features of {args.foundation}. centre: mean display value of the central "
        f"{2 * CENTRE_FRACTION:.0%} of the stamp's side; colour_*: its reddest minus bluest "
        f"band for (simulated classes mapped to) ellipticals and spirals. The real pool gives "
        f"centre {reference['centre']:.3f}, "
        f"colour_elliptical {reference['colour_elliptical']:.3f}, colour_spiral "
        f"{reference['colour_spiral']:.3f}. Gallery: {gallery}."
    )
    return write_report(rows, columns, args.output / "sim2real", "Simulation to real", notes)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``galvision benchmark sim2real``."""
    parser.add_argument(
        "--variants",
        nargs="+",
        default=[
            "decals=configs/data/morphology.yaml",
            "sdss=configs/data/morphology_sdss.yaml",
            "decals_realistic=configs/data/morphology_realistic.yaml",
            "sdss_realistic=configs/data/morphology_sdss_realistic.yaml",
        ],
        help="NAME=DATA_CONFIG of each simulated survey compared",
    )
    add_config_argument(parser, "tasks/classify.yaml", "simulated classification task")
    parser.add_argument("--real", type=Path, default=Path("../shared/data/gz1_sdss_subset.h5"))
    parser.add_argument(
        "--pool",
        type=Path,
        default=Path("../shared/data/gz1_sdss_pool.h5"),
        help="unlabelled real images for the domain gap (never the test galaxies)",
    )
    add_config_argument(
        parser, "tasks/classify_gz1.yaml", "real-data task (its path replaced)", "--real-config"
    )
    parser.add_argument("--foundation", help="backbone whose features measure the domain gap")
    parser.add_argument("--steps", type=int, default=600, help="training steps of every variant")
    parser.add_argument("--images", type=int, default=600, help="images per side of the gap")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=Path("benchmark_results"))


def run(args: argparse.Namespace) -> str:
    """Run ``galvision benchmark sim2real`` from parsed arguments."""
    return run_sim2real_benchmark(args)
