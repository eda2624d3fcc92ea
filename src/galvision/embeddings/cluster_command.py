"""``galvision cluster``: let clusters of a catalogue's embeddings suggest classes.

Runs the consensus clustering of :mod:`galvision.embeddings.cluster` on embeddings written by
``galvision predict --config tasks/embed.yaml`` and writes: every row's cluster (``clusters.csv``),
a table per cluster (size; with a labelled catalogue, its commonest class and purity), the
overall assigned fraction, purity and NMI, a UMAP map coloured by cluster and by class, and a
gallery of each cluster's members.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from galvision.benchmark.report import write_report
from galvision.callbacks.writing import write_csv
from galvision.embeddings.arguments import embeddings_parser, parse_verb
from galvision.embeddings.catalogue import Catalogue
from galvision.embeddings.cluster import (
    METHODS,
    UNASSIGNED,
    Consensus,
    consensus_clusters,
    nmi,
    purity,
)
from galvision.embeddings.store import read_embeddings
from galvision.plotting import save_image_grid

GALLERY_MEMBERS = 6
UMAP_NEIGHBOURS = 15


def umap_map(vectors: np.ndarray, seed: int) -> np.ndarray:
    """Two UMAP coordinates per row (cosine neighbourhoods)."""
    import umap  # imported here: numba compiles on first import, seconds the other verbs skip

    neighbours = min(UMAP_NEIGHBOURS, len(vectors) - 1)
    reducer = umap.UMAP(n_neighbors=neighbours, metric="cosine", random_state=seed)
    return reducer.fit_transform(vectors)


def save_map(points: np.ndarray, consensus: Consensus, classes, names, path: Path) -> Path:
    """The UMAP map coloured by consensus cluster (grey: unassigned) and by true class."""
    panels = 1 if classes is None else 2
    figure, axes = plt.subplots(1, panels, figsize=(6 * panels, 5), squeeze=False)
    assigned = consensus.labels != UNASSIGNED
    axis = axes[0, 0]
    axis.scatter(*points[~assigned].T, s=3, c="lightgrey", label="unassigned")
    axis.scatter(*points[assigned].T, s=3, c=consensus.labels[assigned], cmap="tab20")
    axis.set_title(f"consensus clusters ({consensus.assigned_fraction:.0%} assigned)")
    if classes is not None:
        axis = axes[0, 1]
        for label, name in enumerate(names):
            chosen = classes == label
            axis.scatter(*points[chosen].T, s=3, label=name.replace("_", " "))
        axis.legend(fontsize=6, markerscale=3)
        axis.set_title("true classes")
    for axis in axes[0]:
        axis.set_xticks([])
        axis.set_yticks([])
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def save_gallery(catalogue: Catalogue, rows: np.ndarray, labels: np.ndarray, path: Path) -> Path:
    """The first ``GALLERY_MEMBERS`` members of each cluster, one column per cluster."""
    panels = {}
    for cluster in np.unique(labels[labels != UNASSIGNED]):
        members = rows[labels == cluster][:GALLERY_MEMBERS]
        images = catalogue.images(members)
        blank = np.zeros((GALLERY_MEMBERS - len(images), *images.shape[1:]), dtype=np.float32)
        panels[f"{cluster} ({(labels == cluster).sum()})"] = np.concatenate([images, blank])
    return save_image_grid(panels, path)


def cluster_rows(consensus: Consensus, classes, names) -> list[dict]:
    """One row per consensus cluster: size, and with classes its commonest class and purity."""
    rows = []
    for cluster in np.unique(consensus.labels[consensus.labels != UNASSIGNED]):
        members = consensus.labels == cluster
        row = {"cluster": int(cluster), "size": int(members.sum())}
        if classes is not None:
            counts = np.bincount(classes[members], minlength=len(names))
            row |= {"class": names[int(counts.argmax())], "purity": counts.max() / members.sum()}
        rows.append(row)
    return rows


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``galvision cluster``."""
    parser = embeddings_parser("galvision cluster", __doc__, "cluster_results")
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--components", type=int, default=32, help="PCA components clustered")
    parser.add_argument(
        "--agreement", type=int, default=3, help=f"methods of {len(METHODS)} that must agree"
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser


def cluster_main(argv: list[str]) -> None:
    """Run ``galvision cluster`` and print its tables."""
    args = parse_verb(build_parser(), argv)
    table = read_embeddings(args.embeddings, args.kind or "embedding")
    consensus = consensus_clusters(
        table.vectors, args.clusters, args.components, args.agreement, args.seed
    )
    args.output.mkdir(parents=True, exist_ok=True)
    write_csv(
        args.output / "clusters.csv",
        ("row", "name", "cluster", *METHODS),
        (
            (row, name, label, *(consensus.votes[m][i] for m in METHODS))
            for i, (row, name, label) in enumerate(
                zip(table.rows.tolist(), table.names, consensus.labels.tolist(), strict=True)
            )
        ),
    )
    catalogue = classes = names = None
    if args.data is not None:
        catalogue = Catalogue(args.data)
        classes, names = catalogue.labels(table.rows), catalogue.class_names
    overall = {
        "rows": len(table),
        "clusters": args.clusters,
        "assigned": consensus.assigned_fraction,
    }
    if classes is not None:
        overall |= {
            "purity": purity(consensus.labels, classes),
            "nmi": nmi(consensus.labels, classes),
        }
    pictures = [
        save_map(
            umap_map(table.vectors, args.seed),
            consensus,
            classes,
            names,
            args.output / "cluster_map.png",
        )
    ]
    if catalogue is not None:
        pictures.append(
            save_gallery(
                catalogue, table.rows, consensus.labels, args.output / "cluster_gallery.png"
            )
        )
    notes = (
        f"{table.kind} vectors of {args.embeddings}: PCA to {args.components} components, then "
        f"{', '.join(METHODS)} with {args.clusters} clusters; a row is assigned where "
        f"{args.agreement} of {len(METHODS)} agree. purity: share of assigned rows of their "
        f"cluster's commonest class; nmi: normalised mutual information of clusters and classes "
        f"over the assigned rows. Pictures: {', '.join(map(str, pictures))}."
    )
    print(
        write_report(
            [overall], list(overall), args.output / "cluster", "Consensus clustering", notes
        )
    )
    print(
        write_report(
            cluster_rows(consensus, classes, names),
            ["cluster", "size", *(["class", "purity"] if classes is not None else [])],
            args.output / "cluster_members",
            "Clusters",
        )
    )
