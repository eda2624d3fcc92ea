"""``galvision outliers``: a catalogue's embeddings ranked from most to least unusual.

Scores every row of ``galvision predict --config tasks/embed.yaml``'s shards with k-NN distance
or an isolation forest (:mod:`galvision.embeddings.outliers`) and writes the ranking as CSV
(rank, row, name, score) and, given the catalogue's data config, the top rows as a PNG.
"""

from __future__ import annotations

import argparse

import numpy as np

from galvision.callbacks.writing import write_csv
from galvision.embeddings.arguments import embeddings_parser, parse_verb
from galvision.embeddings.catalogue import Catalogue
from galvision.embeddings.outliers import SCORERS, outlier_scores
from galvision.embeddings.store import read_embeddings
from galvision.errors import ConfigError
from galvision.plotting import save_ranked_mosaic

SHOWN = 24


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``galvision outliers``."""
    parser = embeddings_parser("galvision outliers", __doc__, "outlier_results")
    parser.add_argument("--method", choices=SCORERS, default="knn")
    parser.add_argument("--top", type=int, default=100, help="rows listed first in the output")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def outliers_main(argv: list[str]) -> None:
    """Run ``galvision outliers`` and print its top rows."""
    args = parse_verb(build_parser(), argv)
    if args.top < 1:
        raise ConfigError(f"--top must be ≥ 1, got {args.top}")
    table = read_embeddings(args.embeddings, args.kind or "embedding")
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
