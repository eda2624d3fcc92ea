"""The alignment benchmark's few-label tables: fine-tuned, zero-shot and probed rows."""

from __future__ import annotations

import argparse

import numpy as np
import torch

from galvision.benchmark.aligned_runs import (
    IMAGE_TEXT,
    TRI_MODAL,
    AlignedModels,
    class_scores,
    embed_images,
    fraction_arguments,
)
from galvision.benchmark.classification import WEIGHTS
from galvision.benchmark.gz1_scores import (
    REAL_PATH,
    gather_classes,
    predict_probabilities,
    real_scores,
)
from galvision.benchmark.probe import embed_split, linear_probe
from galvision.benchmark.training import (
    LAST,
    configure,
    resumable_run,
)
from galvision.checkpoints import load_checkpoint_task
from galvision.data.labelled import labelled_training
from galvision.tasks.classification import ClassificationTask


# -- few labels -----------------------------------------------------------------------------
def share(fraction: float) -> str:
    """A label share as the table shows it."""
    return f"{fraction:.0%}"


def label_budgets(
    indices: np.ndarray, labels: np.ndarray, names: list[str], fractions: list[float], seed: int
) -> dict[float, np.ndarray]:
    """Positions among training ``indices`` (sorted) that each label share keeps, drawn as the
    datamodules draw them (``labels``: the classes of ``indices``)."""
    by_index = np.full(int(indices.max()) + 1, -1)
    by_index[indices] = labels
    return {
        fraction: np.searchsorted(
            indices, labelled_training(indices, by_index, names, seed, label_fraction=fraction)
        )
        for fraction in fractions
    }


def probe_rows(
    method: str,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    budgets: dict[float, np.ndarray],
    score,
    seed: int,
) -> list[dict]:
    """A linear probe on frozen features for every label share (``budgets``: kept positions)."""
    (features, labels), (test_features, test_labels) = train, test
    rows = []
    for fraction, kept in budgets.items():
        probabilities = linear_probe((features[kept], labels[kept]), test_features, seed)
        scores = score(probabilities, torch.from_numpy(test_labels).long())
        rows.append({"method": method, "labels": share(fraction), **scores})
    return rows


def fine_tuned_methods(models: AlignedModels) -> list[tuple[str, str, list[str]]]:
    """Key, row name and backbone arguments of the fine-tuned rows: (a), and (c) fine-tuned."""
    return [
        ("scratch", "(a) ClassificationTask, fine-tuned", []),
        ("tri-modal", "(c) tri-modal, fine-tuned", [WEIGHTS, models.checkpoint(TRI_MODAL)]),
    ]


PROBED = ((IMAGE_TEXT, "(b) image–text"), (TRI_MODAL, "(c) tri-modal"))


def simulated_few_labels(
    args: argparse.Namespace, models: AlignedModels, fractions: list[float]
) -> list[dict]:
    """Few-label rows on the simulated classes: fine-tuned, zero-shot and probed."""
    extra = ["--data", str(args.classify_data)]
    runs = args.output / "align"
    cli = configure(args.classify_config, runs / "sim-data", 1, args.seed, extra)
    data = cli.datamodule
    data.prepare_data()
    for stage in ("fit", "test"):
        data.setup(stage)
    classes = len(data.class_names)
    rows = []
    for key, method, weights in fine_tuned_methods(models):
        for fraction in fractions:
            metrics = resumable_run(
                args.classify_config,
                runs / f"sim-{key}-{share(fraction)}",
                args.classify_steps,
                args.seed,
                [*extra, *weights, *fraction_arguments(fraction)],
            )
            scores = {name: metrics[f"test/{name}"] for name in ("accuracy", "f1_macro", "auroc")}
            rows.append({"method": method, "labels": share(fraction), **scores})
    train_indices = data.split_indices()["train"]
    for name, method in PROBED:
        task = models.task(name)
        train = embed_split(task.backbone, data.datasets["train"], task.transforms)
        test = embed_split(task.backbone, data.datasets["test"], task.transforms)
        embeddings, labels, _ = embed_images(task, data.datasets["test"], observe=True)
        zero_shot = task.zero_shot_probabilities(embeddings, task.class_text_embeddings())
        rows.append(
            {
                "method": f"{method}, zero-shot",
                "labels": 0,
                **class_scores(zero_shot, labels, classes),
            }
        )
        budgets = label_budgets(
            train_indices, train[1], data.class_names, fractions, data.survey.seed
        )
        rows += probe_rows(
            f"{method}, linear probe",
            train,
            test,
            budgets,
            lambda p, y: class_scores(p, y, classes),
            args.seed,
        )
    return rows


def real_few_labels(
    args: argparse.Namespace, models: AlignedModels, fractions: list[float]
) -> list[dict]:
    """Few-label rows on GZ1: fine-tuned, zero-shot (simulated prompts summed) and probed."""
    extra = [REAL_PATH, str(args.real.resolve())]
    runs = args.output / "align"
    cli = configure(args.real_config, runs / "gz1-data", 1, args.seed, extra)
    data, names = cli.datamodule, cli.datamodule.class_names
    rows = []
    for key, method, weights in fine_tuned_methods(models):
        for fraction in fractions:
            folder = runs / f"gz1-{key}-{share(fraction)}"
            resumable_run(
                args.real_config,
                folder,
                args.real_steps,
                args.seed,
                [*extra, *weights, *fraction_arguments(fraction)],
            )
            task = load_checkpoint_task(folder / LAST, ClassificationTask)
            scores = real_scores(*predict_probabilities(task, data, "test"), names)
            rows.append({"method": method, "labels": share(fraction), **scores})
    train, test = data.split_indices["train"], data.split_indices["test"]
    for name, method in PROBED:
        task = models.task(name)
        features, labels = embed_split(task.backbone, data.dataset, task.transforms)
        embeddings, test_labels, _ = embed_images(task, data.datasets["test"], observe=False)
        mapped = gather_classes(
            task.zero_shot_probabilities(embeddings, task.class_text_embeddings()),
            task.class_names,
            names,
        )
        rows.append(
            {
                "method": f"{method}, zero-shot",
                "labels": 0,
                **real_scores(mapped, test_labels, names),
            }
        )
        budgets = label_budgets(train, labels[train], names, fractions, data.hparams.seed)
        rows += probe_rows(
            f"{method}, linear probe",
            (features[train], labels[train]),
            (features[test], labels[test]),
            budgets,
            lambda p, y: real_scores(p, y, names),
            args.seed,
        )
    return rows
