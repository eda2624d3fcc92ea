"""``galvision search``: the catalogue rows nearest a name, an image, a sentence or a symbol.

Reads the shards of ``galvision predict --config tasks/embed.yaml``, builds a FAISS index
(``galvision.embeddings.search``) and writes the top ``k`` as CSV (rank, row, name, cosine)
and, given the catalogue's data config, as a PNG mosaic. Sentences and symbols need the
aligned embeddings and the alignment checkpoint that made them. ``--evaluate`` instead lets
every row of a labelled catalogue query the others and reports precision@k by class.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from galvision import api
from galvision.benchmark.report import write_report
from galvision.callbacks.writing import write_csv
from galvision.checkpoints import load_checkpoint_task
from galvision.data.pictures import decode_picture
from galvision.data.simulate.symbols import class_symbol
from galvision.embeddings.arguments import embeddings_parser, parse_verb
from galvision.embeddings.catalogue import Catalogue
from galvision.embeddings.search import INDEX_KINDS, build_index, precision_by_class, search
from galvision.embeddings.store import EmbeddingTable, read_embeddings
from galvision.errors import ConfigError, DataError
from galvision.plotting import save_ranked_mosaic
from galvision.tasks.alignment import AlignmentTask

MOSAIC_COLUMNS = 4
SYMBOL_SEED = 0


def query_picture(path: Path, bands: int, size: int) -> torch.Tensor:
    """A PNG/JPEG query image as a (1, bands, size, size) display-space batch."""
    if not path.is_file():
        raise ConfigError(f"--image: no such file {path}")
    try:
        image = decode_picture(path)
    except OSError as error:
        raise DataError(f"--image {path}: not a readable PNG/JPEG picture ({error})") from None
    if image.shape != (bands, size, size):
        raise DataError(
            f"--image {path}: {image.shape[0]} band(s) of {image.shape[1]}×{image.shape[2]}, "
            f"the model takes {bands} band(s) of {size}×{size}; cut it out at that size"
        )
    return torch.from_numpy(image)[None]


@torch.no_grad()
def query_vector(args: argparse.Namespace, table: EmbeddingTable) -> np.ndarray:
    """The query of the command line as a vector of the table's space."""
    if args.name is not None:
        return table.vectors[table.position(args.name)]
    aligner = None
    if args.alignment is not None:
        aligner = load_checkpoint_task(Path(args.alignment), AlignmentTask)
    if args.text is not None or args.symbol is not None:
        if aligner is None or table.kind != "aligned":
            raise ConfigError(
                "a text or symbol query needs --alignment CKPT and aligned embeddings "
                "(embed with --model.init_args.alignment CKPT)"
            )
        if args.text is not None:
            if not args.text.strip():
                raise ConfigError("--text: the query is empty; describe the galaxies to find")
            return aligner.embed_text([args.text])[0].numpy()
        drawing = class_symbol(
            args.symbol, np.random.default_rng(SYMBOL_SEED), aligner.backbone.img_size
        )
        return aligner.embed_symbols(torch.from_numpy(drawing)[None, None])[0].numpy()
    if aligner is not None and table.kind == "aligned":
        image = query_picture(args.image, aligner.backbone.in_chans, aligner.backbone.img_size)
        return aligner.embed_images(image)[0].numpy()
    if args.backbone is None:
        raise ConfigError(
            "an image query needs --backbone WEIGHTS (or --alignment with aligned embeddings)"
        )
    backbone = api.load_backbone(args.backbone)
    image = query_picture(args.image, backbone.in_chans, backbone.img_size)
    return api.embed(backbone, image)[0]


def evaluate(args: argparse.Namespace, table: EmbeddingTable) -> str:
    """Precision@k by class of every row querying the others, exact and with ``--index``."""
    if args.data is None:
        raise ConfigError("--evaluate needs --data: the catalogue's config, for its classes")
    catalogue = Catalogue(args.data)
    labels = catalogue.labels(table.rows)
    if labels is None:
        raise ConfigError(f"--evaluate: the catalogue of {args.data} has no classes")
    kinds = dict.fromkeys(["flat", args.index])
    scores = {kind: precision_by_class(build_index(table.vectors, kind), table.vectors, labels,
                                       args.k) for kind in kinds}  # fmt: skip
    counts = np.bincount(labels, minlength=len(catalogue.class_names))
    rows = [
        {"class": name, "queries": int(counts[label]),
         "chance": (counts[label] - 1) / (len(labels) - 1),
         **{f"precision_{kind}": scores[kind][label] for kind in kinds}}
        for label, name in enumerate(catalogue.class_names) if counts[label]
    ]  # fmt: skip
    rows.append(
        {"class": "mean over classes", "queries": len(labels),
         "chance": float(np.mean([row["chance"] for row in rows])),
         **{f"precision_{kind}": float(np.mean(list(scores[kind].values()))) for kind in kinds}}
    )  # fmt: skip
    return write_report(
        rows, list(rows[0]), args.output / "search_precision", f"Precision@{args.k} by class",
        f"Every one of the {len(labels)} rows of {args.embeddings} ({table.kind} vectors) "
        f"queries the others; precision@{args.k}: the share of its {args.k} nearest of its own "
        "class. chance: that share for a random ranking.",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``galvision search``."""
    parser = embeddings_parser("galvision search", __doc__, "search_results")
    query = parser.add_mutually_exclusive_group(required=True)
    query.add_argument("--name", help="a catalogue name: its own embedding is the query")
    query.add_argument("--image", type=Path, help="a PNG/JPEG cutout of the model's size")
    query.add_argument("--text", help="a sentence, e.g. 'a barred spiral with two arms'")
    query.add_argument("--symbol", help="a class whose Galaxy Zoo-style symbol is the query")
    query.add_argument(
        "--evaluate", action="store_true",
        help="every row queries the rest: precision@k by class (needs --data with classes)",
    )  # fmt: skip
    parser.add_argument("--alignment", help="AlignmentTask checkpoint (text, symbol queries)")
    parser.add_argument("--backbone", help="backbone weights that made the embeddings (images)")
    parser.add_argument("--index", choices=INDEX_KINDS, default="flat")
    parser.add_argument("-k", type=int, default=16, help="neighbours to return")
    return parser


def search_main(argv: list[str]) -> None:
    """Run ``galvision search`` and print its top ``k``."""
    args = parse_verb(build_parser(), argv)
    if args.k < 1:
        raise ConfigError(f"-k must be ≥ 1, got {args.k}")
    kind = args.kind or ("aligned" if args.alignment else "embedding")
    table = read_embeddings(args.embeddings, kind)
    if args.evaluate:
        print(evaluate(args, table))
        return
    query = query_vector(args, table)
    index = build_index(table.vectors, args.index)
    scores, found = (values[0] for values in search(index, query[None], args.k))
    rows = table.rows[found]
    names = [table.names[i] for i in found]
    result = [
        (rank + 1, int(row), name, float(score))
        for rank, (row, name, score) in enumerate(zip(rows, names, scores, strict=True))
    ]
    args.output.mkdir(parents=True, exist_ok=True)
    write_csv(args.output / "search.csv", ("rank", "row", "name", "cosine"), result)
    for line in result:
        print(f"{line[0]:>3}  row {line[1]:>7}  {line[3]:.3f}  {line[2]}")
    if args.data is not None:
        images = Catalogue(args.data).images(rows)
        picture = save_ranked_mosaic(images, args.output / "search.png", MOSAIC_COLUMNS)
        print(f"mosaic: {picture}")
