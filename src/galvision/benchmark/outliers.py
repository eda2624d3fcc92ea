"""The outlier benchmark: rare objects planted in a simulated catalogue, found from embeddings.

The catalogue is the morphology survey of ``--data`` without its mergers; planted among its
galaxies are ``--planted`` each of: strong lenses (stamps of the simulated lens fields),
mergers, galaxies crossed by a satellite trail and galaxies beside a saturated star
(:mod:`galvision.data.simulate.artefacts`). Every image is observed as in evaluation. Each
scorer (k-NN distance, isolation forest) ranks the foundation's embeddings and, as the
baseline, the leading principal components of the pixels; the table gives PR-AUC, recall among
the top 100 and, per kind, the share of its objects found there.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from torchmetrics.functional.classification import binary_average_precision
from torchmetrics.functional.retrieval import retrieval_recall

from galvision import api
from galvision.benchmark.report import write_report
from galvision.benchmark.training import loaded_backbone
from galvision.data import keys
from galvision.data.simulate import classes
from galvision.data.simulate.artefacts import satellite_trail, saturated_star
from galvision.embeddings.catalogue import Catalogue
from galvision.embeddings.outliers import SCORERS, outlier_scores
from galvision.errors import ConfigError
from galvision.plotting import save_ranked_mosaic

KINDS = ("lens", "merger", "satellite_trail", "saturated_star")
ARTEFACTS = {"satellite_trail": satellite_trail, "saturated_star": saturated_star}
PIXEL_COMPONENTS = 32
TOP = 100
SHOWN = 24


def with_artefacts(catalogue: Catalogue, rows: np.ndarray, kind: str, seed: int) -> np.ndarray:
    """Observed images of ``rows`` with an artefact of ``kind`` drawn on each clean galaxy."""
    rng = np.random.default_rng([seed, KINDS.index(kind)])

    def draw(sample: dict) -> dict:
        clean = ARTEFACTS[kind](sample[keys.CLEAN].numpy(), rng)
        return sample | {keys.CLEAN: torch.from_numpy(clean.astype(np.float32))}

    return catalogue.images(rows, edit=draw)


def planted_catalogue(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    """Images of the catalogue and the kind of each (-1: an ordinary galaxy, else KINDS)."""
    rng = np.random.default_rng(args.seed)
    np.random.seed(args.seed)  # lens stamps of training fields draw their PSF from it
    survey = Catalogue(args.data)
    if survey.class_names is None or classes.MERGER not in survey.class_names:
        raise ConfigError(f"--data {args.data}: needs a morphology survey with mergers")
    labels = survey.labels(np.arange(len(survey)))
    mergers = np.flatnonzero(labels == survey.class_names.index(classes.MERGER))
    ordinary = np.flatnonzero(labels != survey.class_names.index(classes.MERGER))
    count = args.planted
    if len(mergers) < count or len(ordinary) < 3 * count:
        raise ConfigError(f"--planted {count}: {args.data} has too few galaxies for that")
    lenses = Catalogue(args.lenses)
    lens_rows = np.flatnonzero(lenses.labels(np.arange(len(lenses))) == 1)
    if len(lens_rows) < count:
        raise ConfigError(f"--planted {count}: {args.lenses} has {len(lens_rows)} lenses")
    shuffled = rng.permutation(ordinary)
    base, artefact_rows = shuffled[: -2 * count], shuffled[-2 * count :]
    parts = [
        (survey.images(base), -1),
        (lenses.images(np.sort(rng.choice(lens_rows, count, replace=False))), 0),
        (survey.images(np.sort(rng.choice(mergers, count, replace=False))), 1),
        (with_artefacts(survey, artefact_rows[:count], "satellite_trail", args.seed), 2),
        (with_artefacts(survey, artefact_rows[count:], "saturated_star", args.seed), 3),
    ]
    images = np.concatenate([images for images, _ in parts])
    kinds = np.concatenate([np.full(len(images), kind) for images, kind in parts])
    return images, kinds


def ranking_scores(scores: np.ndarray, kinds: np.ndarray) -> dict[str, float]:
    """PR-AUC and recall among the top ``TOP`` of planted objects, overall and per kind."""
    planted = torch.from_numpy(kinds >= 0)
    preds = torch.from_numpy(scores.astype(np.float32))
    row = {
        "pr_auc": float(binary_average_precision(preds, planted.long())),
        "recall_at_100": float(retrieval_recall(preds, planted, top_k=TOP)),
    }
    top = np.argsort(-scores, kind="stable")[:TOP]
    for index, kind in enumerate(KINDS):
        row[kind] = float(np.mean(np.isin(np.flatnonzero(kinds == index), top)))
    return row


def run_outlier_benchmark(args: argparse.Namespace) -> str:
    """Plant, embed, score; the table and the top of the best foundation scorer."""
    backbone = loaded_backbone("--foundation", args.foundation).eval()
    images, kinds = planted_catalogue(args)
    pixels = images.reshape(len(images), -1)
    components = min(PIXEL_COMPONENTS, *pixels.shape)
    features = {
        "foundation": api.embed(backbone, torch.from_numpy(images)),
        f"pixels (PCA {components})": PCA(components, random_state=args.seed).fit_transform(pixels),
    }
    rows, best = [], None
    for name, table in features.items():
        for method in SCORERS:
            scores = outlier_scores(table, method, args.seed)
            row = {"features": name, "method": method, **ranking_scores(scores, kinds)}
            rows.append(row)
            if name == "foundation" and (best is None or row["pr_auc"] > best[0]["pr_auc"]):
                best = (row, scores)
    order = np.argsort(-best[1], kind="stable")[:SHOWN]
    picture = save_ranked_mosaic(images[order], args.output / "outliers_top.png", 6)
    found = ", ".join("ordinary" if kinds[i] < 0 else KINDS[kinds[i]] for i in order)
    notes = (
        f"{int((kinds < 0).sum())} ordinary galaxies of {args.data} (mergers removed) and "
        f"{args.planted} each of {', '.join(KINDS)} planted (lenses from {args.lenses}); "
        f"features: the pooled embeddings of {args.foundation}, or the first "
        f"{components} principal components of the pixels. knn: mean cosine distance to "
        f"the 10 nearest rows; iforest: isolation forest. recall_at_100: planted objects among "
        f"the top {TOP} over all planted (at most {TOP / (len(KINDS) * args.planted):.2f}); "
        f"per kind: share of that kind in the top {TOP}. Top {SHOWN} of the foundation's "
        f"{best[0]['method']} ({picture}): {found}."
    )
    return write_report(
        rows,
        ["features", "method", "pr_auc", "recall_at_100", *KINDS],
        args.output / "outliers",
        "Outliers: planted rare objects",
        notes,
    )


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``galvision benchmark outliers``."""
    parser.add_argument("--foundation", required=True, help="backbone whose embeddings rank")
    parser.add_argument("--data", type=Path, default=Path("configs/data/morphology_realistic.yaml"))
    parser.add_argument("--lenses", type=Path, default=Path("configs/data/lens_stamps.yaml"))
    parser.add_argument("--planted", type=int, default=30, help="objects of each rare kind")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=Path("benchmark_results"))


def run(args: argparse.Namespace) -> str:
    """Run ``galvision benchmark outliers`` from parsed arguments."""
    return run_outlier_benchmark(args)
