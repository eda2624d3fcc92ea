"""``galvision outliers``: a catalogue's embeddings ranked from most to least unusual.

Scores every row of ``galvision predict --config tasks/embed.yaml``'s shards with k-NN distance
or an isolation forest (:mod:`galvision.embeddings.outliers`) and writes the ranking as CSV
(rank, row, name, score) and, given the catalogue's data config, the top rows as a PNG.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from galvision.callbacks.writing import write_csv
from galvision.embeddings.catalogue import Catalogue
from galvision.embeddings.outliers import SCORERS, outlier_scores
from galvision.embeddings.store import read_embeddings
from galvision.errors import ConfigError
from galvision.folders import check_writable
from galvision.plotting import save_ranked_mosaic

SHOWN = 24


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``galvision outliers``."""
    parser = argparse.ArgumentParser(prog="galvision outliers", description=__doc__)
    parser.add_argument("embeddings", type=Path, help="folder of galvision predict's shards")
    parser.add_argument("--kind", choices=("embedding", "aligned"), default="embedding")
    parser.add_argument("--method", choices=SCORERS, default="knn")
    parser.add_argument("--top", type=int, default=100, help="rows listed first in the output")
    parser.add_argument("--data", type=Path, help="the catalogue's data config, for the PNG")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=Path("outlier_results"))
    return parser


def outliers_main(argv: list[str]) -> None:
    """Run ``galvision outliers`` and print its top rows."""
    args = build_parser().parse_args(argv)
    check_writable(args.output, "--output")
    if args.top < 1:
        raise ConfigError(f"--top must be ≥ 1, got {args.top}")
    table = read_embeddings(args.embeddings, args.kind)
    scores = outlier_scores(table.vectors, args.method, args.seed)
    order = np.argsort(-scores, kind="stable")[: args.top]
    ranked = [
        (rank + 1, int(table.rows[i]), table.names[i], float(scores[i]))
        for rank, i in enumerate(order)
    ]
    args.output.mkdir(parents=True, exist_ok=True)
    write_csv(args.output / "outliers.csv", ("rank", "row", "name", "score"), ranked)
    for rank, row, name, score in ranked[:SHOWN]:
        print(f"{rank:>4}  row {row:>7}  {score:.4f}  {name}")
    if args.data is not None:
        images = Catalogue(args.data).images(table.rows[order[:SHOWN]])
        print(f"mosaic: {save_ranked_mosaic(images, args.output / 'outliers.png', 6)}")
