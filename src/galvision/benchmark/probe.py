"""The frozen-feature benchmark: how much morphology a backbone's embeddings carry, untuned.

Each backbone (random init, a foundation, an export or any checkpoint) embeds galaxies once;
then a logistic-regression probe and a k-nearest-neighbour vote classify them: the simulated
morphology classes, and real Galaxy Zoo 1 galaxies with 10 and with all labels per class. No
weight of the backbone moves, so the table ranks pretraining objectives by their features.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.neighbors import KNeighborsClassifier
from torch.utils.data import DataLoader, Dataset
from torchmetrics.functional.classification import multiclass_accuracy

from galvision import api
from galvision.benchmark.classification import ALL, parse_label_counts
from galvision.benchmark.gz1_scores import REAL_PATH, real_scores
from galvision.benchmark.report import write_report
from galvision.benchmark.training import (
    ConfigFiles,
    add_config_argument,
    configure,
    describe_config,
)
from galvision.data import keys
from galvision.data.labelled import few_shot
from galvision.errors import ConfigError
from galvision.label.learner import FittedLearner, probe_pipeline
from galvision.transforms import BatchTransform, apply_transforms

RANDOM = "random"  # the config's own backbone, untrained
NEIGHBOURS = 20


def embed_split(
    backbone: torch.nn.Module, dataset: Dataset, transforms: list[BatchTransform]
) -> tuple[np.ndarray, np.ndarray]:
    """Pooled embeddings and labels of a dataset, observed as the test stage observes it."""
    features, labels = [], []
    for batch in DataLoader(dataset, batch_size=128):
        batch = apply_transforms(transforms, batch, "test")
        features.append(api.embed(backbone, batch[keys.IMAGE]))
        labels.append(batch[keys.LABEL].numpy())
    return np.concatenate(features), np.concatenate(labels)


def linear_probe(train: tuple, test_features: np.ndarray, seed: int) -> torch.Tensor:
    """Class probabilities of a logistic regression on standardised features (the MAE probe)."""
    features, labels = train
    probe = FittedLearner(probe_pipeline(seed).fit(features, labels), int(labels.max()) + 1)
    return torch.from_numpy(probe.probabilities(test_features)).float()


def knn_predictions(train: tuple, test_features: np.ndarray) -> torch.Tensor:
    """Classes voted by the nearest training embeddings (cosine distance, distance-weighted)."""
    features, labels = train
    vote = KNeighborsClassifier(min(NEIGHBOURS, len(labels)), metric="cosine", weights="distance")
    return torch.from_numpy(vote.fit(features, labels).predict(test_features))


@dataclass(frozen=True)
class FrozenSets:
    """Where frozen features are scored: the simulated task, and GZ1 with ``counts`` labels."""

    config: ConfigFiles
    real: Path | None
    real_config: ConfigFiles
    counts: tuple[int | None, ...]
    output: Path
    seed: int

    def __post_init__(self) -> None:
        if self.real is not None and not self.real.is_file():
            raise ConfigError(f"--real: no such file {self.real}")


@dataclass(frozen=True)
class SimulatedEmbeddings:
    """A backbone's pooled embeddings and labels of the simulated training and test splits."""

    train: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    class_names: list[str]


def random_backbone(config: ConfigFiles, output: Path, seed: int) -> torch.nn.Module:
    """The config's own backbone, untrained (initialised from ``seed``), in eval mode."""
    return configure(config, output / "probe-sim", 1, seed, []).model.backbone.eval()


def embed_simulated(
    backbone: torch.nn.Module, config: ConfigFiles, output: Path, seed: int
) -> SimulatedEmbeddings:
    """Embeddings of the simulated morphology survey of ``config``, training and test split."""
    cli = configure(config, output / "probe-sim", 1, seed, [])
    data = cli.datamodule
    data.prepare_data()
    data.setup("fit")
    data.setup("test")
    transforms = cli.model.transforms
    return SimulatedEmbeddings(
        train=embed_split(backbone, data.datasets["train"], transforms),
        test=embed_split(backbone, data.datasets["test"], transforms),
        class_names=list(data.class_names),
    )


def simulated_scores(embedded: SimulatedEmbeddings, seed: int) -> dict[str, float]:
    """Linear-probe and k-NN accuracy on the simulated morphology classes."""
    test_features, test_labels = embedded.test
    labels, classes = torch.from_numpy(test_labels), len(embedded.class_names)
    probabilities = linear_probe(embedded.train, test_features, seed)
    votes = knn_predictions(embedded.train, test_features)
    return {
        "sim_linear": float(multiclass_accuracy(probabilities, labels, classes, average="micro")),
        "sim_knn": float(multiclass_accuracy(votes, labels, classes, average="micro")),
    }


def gz1_column(count: int | None, metric: str) -> str:
    """The table column of a GZ1 probe score with ``count`` labels per class (None: all)."""
    return f"gz1_{ALL if count is None else count}_{metric}"


def real_probe_scores(
    backbone: torch.nn.Module,
    real: Path,
    config: ConfigFiles,
    counts: Sequence[int | None],
    output: Path,
    seed: int,
) -> dict[str, float]:
    """Accuracy, macro-F1 and spiral-vs-elliptical AUROC of GZ1 probes with ``counts`` labels."""
    cli = configure(config, output / "probe-real", 1, seed, [REAL_PATH, str(real)])
    data, names = cli.datamodule, cli.datamodule.class_names
    transforms = cli.model.transforms
    features, labels = embed_split(backbone, data.dataset, transforms)
    test = data.split_indices["test"]
    scores = {}
    for count in counts:
        train = data.split_indices["train"]
        if count is not None:
            train = few_shot(train, labels, names, count, seed)
        probabilities = linear_probe((features[train], labels[train]), features[test], seed)
        found = real_scores(probabilities, torch.from_numpy(labels[test]).long(), names)
        scores |= {gz1_column(count, name): value for name, value in found.items()}
    return scores


def frozen_scores(
    backbone: torch.nn.Module, sets: FrozenSets
) -> tuple[dict[str, float], SimulatedEmbeddings]:
    """Every frozen-feature score of one backbone, and its simulated embeddings."""
    embedded = embed_simulated(backbone, sets.config, sets.output, sets.seed)
    scores = simulated_scores(embedded, sets.seed)
    if sets.real is not None:
        scores |= real_probe_scores(
            backbone, sets.real, sets.real_config, sets.counts, sets.output, sets.seed
        )
    return scores, embedded


def frozen_notes(sets: FrozenSets) -> str:
    """What the frozen-feature columns measure, on which sets."""
    notes = (
        f"Frozen backbones, pooled embeddings. sim: the simulated morphology survey of "
        f"{describe_config(sets.config)} (training split → test split), logistic regression on "
        f"standardised features and a {NEIGHBOURS}-nearest-neighbour cosine vote; accuracy."
    )
    if sets.real is not None:
        notes += (
            f" gz1: {sets.real} as configured in {describe_config(sets.real_config)}, the fixed "
            "test split, a logistic regression on the given labels per class of the training "
            "split; auroc_spiral: spiral vs elliptical by p(spiral) / (p(spiral) + "
            "p(elliptical))."
        )
    return notes


def run_probe_benchmark(args: argparse.Namespace) -> str:
    """One row per backbone: frozen-feature scores on simulated and real galaxies."""
    counts = parse_label_counts(args.real_labels) if args.real is not None else []
    sets = FrozenSets(
        args.config, args.real, args.real_config, tuple(counts), args.output, args.seed
    )
    columns = (
        ["backbone", "sim_linear", "sim_knn"]
        + [gz1_column(count, metric) for count in counts for metric in ("accuracy", "f1_macro")]
        + [gz1_column(count, "auroc_spiral") for count in counts]
    )
    rows = []
    for source in [RANDOM, *args.backbone]:
        if source == RANDOM:
            backbone = random_backbone(args.config, args.output, args.seed)
        else:
            backbone = api.load_backbone(source)
        row = {"backbone": "random init" if source == RANDOM else str(source)}
        rows.append(row | frozen_scores(backbone, sets)[0])
    return write_report(rows, columns, args.output / "probe", "Frozen features", frozen_notes(sets))


def add_real_arguments(parser: argparse.ArgumentParser) -> None:
    """``--real`` and ``--real-config``: the Galaxy Zoo 1 set of the frozen-feature probes."""
    parser.add_argument("--real", type=Path, help="GZ1-layout HDF5 (gz1_sdss_subset.h5)")
    add_config_argument(
        parser,
        "tasks/classify_gz1.yaml",
        "real-data task (dataset path from --real)",
        "--real-config",
    )


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``galvision benchmark probe``."""
    parser.add_argument(
        "--backbone",
        nargs="*",
        default=[],
        help="backbones beside random init: foundation names, exported folders or checkpoints",
    )
    add_config_argument(parser, "tasks/classify.yaml", "simulated morphology task")
    add_real_arguments(parser)
    parser.add_argument("--real-labels", nargs="+", default=["10", "all"])
    parser.add_argument("--seed", type=int, default=0, help="seed of the split draws and probes")
    parser.add_argument("--output", type=Path, default=Path("benchmark_results"))


def run(args: argparse.Namespace) -> str:
    """Run ``galvision benchmark probe`` from parsed arguments."""
    return run_probe_benchmark(args)
