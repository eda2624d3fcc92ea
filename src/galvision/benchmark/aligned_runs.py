"""The alignment benchmark's variants, their trained models and zero-shot scores."""

from __future__ import annotations

import argparse

import numpy as np
import torch
from torch.utils.data import DataLoader
from torchmetrics.functional.classification import (
    multiclass_accuracy,
    multiclass_auroc,
    multiclass_f1_score,
)
from torchmetrics.functional.retrieval import retrieval_precision

from galvision.benchmark.gz1_scores import gather_classes, real_scores
from galvision.benchmark.training import (
    LAST,
    resumable_run,
)
from galvision.checkpoints import load_checkpoint_task
from galvision.data import keys
from galvision.data.captions import GZ1_PROMPTS
from galvision.errors import ConfigError
from galvision.tasks.alignment import AlignmentTask
from galvision.transforms import apply_transforms

TRI_MODAL, IMAGE_TEXT = "tri-modal", "image-text"
PROBED_VARIANTS = (TRI_MODAL, IMAGE_TEXT)  # the few-label rows need both
SYMBOL_FREE = {IMAGE_TEXT}  # variants whose symbol tower is never trained
MODEL = "--model.init_args."
# Each variant: its changes to the alignment config.
VARIANTS: dict[str, tuple[str, ...]] = {
    TRI_MODAL: (),
    IMAGE_TEXT: (
        f"{MODEL}pair_weights",
        '{"image_text": 1.0, "image_symbol": 0.0, "symbol_text": 0.0}',
    ),
    "small-text": (f"{MODEL}text_encoder", "small"),
    "tuned-text": (f"{MODEL}text_tuned_layers", "1"),
    "backbone-symbols": (f"{MODEL}symbol_encoder", "backbone"),
    "sdss": ("--data", "configs/data/align_sdss.yaml"),
}
DEFAULT_VARIANTS = [TRI_MODAL, IMAGE_TEXT, "small-text", "backbone-symbols", "sdss"]
FRACTION = "--data.init_args.label_fraction"
PRECISION_AT = 10
MOSAIC = 16
SOURCES = ("text", "symbol", "both")


def parse_fractions(values: list[str]) -> list[float]:
    """``["0.01", "0.1", "1"]`` -> label shares in (0, 1]; refuses anything else."""
    fractions = []
    for value in values:
        try:
            fraction = float(value)
        except ValueError:
            fraction = float("nan")
        if not 0 < fraction <= 1:
            raise ConfigError(f"--fractions: {value!r} is not a share of the labels in (0, 1]")
        fractions.append(fraction)
    return fractions


def parse_variants(names: list[str]) -> list[str]:
    """The named variants, the tri-modal and image–text ones (the few-label rows) first."""
    unknown = sorted(set(names) - set(VARIANTS))
    if unknown:
        raise ConfigError(f"--variants: {unknown} not among {list(VARIANTS)}")
    return [TRI_MODAL, IMAGE_TEXT, *(name for name in names if name not in PROBED_VARIANTS)]


def fraction_arguments(fraction: float) -> list[str]:
    """The label budget of one run (none: every label)."""
    return [] if fraction == 1 else [FRACTION, str(fraction)]


# -- embeddings -----------------------------------------------------------------------------
@torch.no_grad()
def embed_images(task: AlignmentTask, dataset, observe: bool) -> tuple[torch.Tensor, ...]:
    """Aligned embeddings, labels and display images of a dataset (simulations observed)."""
    embeddings, labels, images = [], [], []
    for batch in DataLoader(dataset, batch_size=128):
        if observe:
            batch = apply_transforms(task.transforms, batch, "test")
        image = batch[keys.IMAGE].float()
        embeddings.append(task.embed_images(image))
        labels.append(torch.as_tensor(batch[keys.LABEL]))
        images.append(image.clamp(0, 1))
    return torch.cat(embeddings), torch.cat(labels), torch.cat(images)


def class_scores(probabilities: torch.Tensor, labels: torch.Tensor, classes: int) -> dict:
    """Accuracy, macro-F1 and macro one-vs-rest AUROC of simulated-class predictions."""
    return {
        "accuracy": float(multiclass_accuracy(probabilities, labels, classes, average="micro")),
        "f1_macro": float(multiclass_f1_score(probabilities, labels, classes, average="macro")),
        "auroc": float(multiclass_auroc(probabilities, labels, classes, average="macro")),
    }


def precision_by_class(task: AlignmentTask, embeddings: torch.Tensor, labels: torch.Tensor):
    """Precision@10 of each class's averaged prompts as a query over the embedded images."""
    queries = task.class_text_embeddings()
    return {
        name: float(
            retrieval_precision(embeddings @ queries[label], labels == label, top_k=PRECISION_AT)
        )
        for label, name in enumerate(task.class_names)
    }


# -- the alignment runs ---------------------------------------------------------------------
class AlignedModels:
    """The trained variants, each with its test metrics, read back when already trained."""

    def __init__(self, args: argparse.Namespace, variants: list[str]) -> None:
        self.folders, self.metrics = {}, {}
        for name in variants:
            folder = args.output / "align" / name
            self.metrics[name] = resumable_run(
                args.config, folder, args.steps, args.seed, list(VARIANTS[name])
            )
            self.folders[name] = folder

    def task(self, name: str) -> AlignmentTask:
        return load_checkpoint_task(self.folders[name] / LAST, AlignmentTask).eval()

    def checkpoint(self, name: str) -> str:
        return str((self.folders[name] / LAST).resolve())


def zero_shot_rows(models: AlignedModels, sim, real) -> tuple[list[dict], list[dict], list[dict]]:
    """Simulated zero-shot and precision@10 rows, and GZ1 zero-shot rows, of every variant."""
    sim_rows, retrieval_rows, real_rows = [], [], []
    for name, metrics in models.metrics.items():
        task = models.task(name)
        sources = [s for s in SOURCES if name not in SYMBOL_FREE or s == "text"]
        sim_rows.append(
            {
                "variant": name,
                **dict.fromkeys(SOURCES, "—"),
                **{s: metrics[f"test/zero_shot_{s}"] for s in sources},
                "retrieval": metrics["test/retrieval_image_text"],
            }
        )
        embeddings, labels, _ = embed_images(task, sim.datasets["test"], observe=True)
        precision = precision_by_class(task, embeddings, labels)
        retrieval_rows.append(
            {"variant": name, **precision, "mean": np.mean([*precision.values()])}
        )
        if real is None:
            continue
        names = real.class_names
        embeddings, labels, _ = embed_images(task, real.datasets["test"], observe=False)
        words = task.class_text_embeddings({gz1: GZ1_PROMPTS[gz1] for gz1 in names})
        own = task.zero_shot_probabilities(embeddings, words)
        real_rows.append(
            {"variant": name, "from": "GZ1 class words", **real_scores(own, labels, names)}
        )
        prototypes = task.class_prototypes()
        for source in sources:
            mapped = gather_classes(
                task.zero_shot_probabilities(embeddings, prototypes[source]),
                task.class_names,
                names,
            )
            real_rows.append(
                {
                    "variant": name,
                    "from": f"simulated {source}",
                    **real_scores(mapped, labels, names),
                }
            )
    return sim_rows, retrieval_rows, real_rows
