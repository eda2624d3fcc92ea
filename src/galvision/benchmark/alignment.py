"""The alignment benchmark: morphology from words and drawings, and with few image labels.

Every variant trains ``AlignmentTask`` (``tasks/align.yaml`` and its changes: image–text only,
the small text tower, MiniLM partly tuned, symbols through the backbone, the SDSS survey) for
the same steps from the same seed. Tables:

- zero-shot: the simulated test set classified from class prompts, from class symbols and from
  both, with no image label; the same on real Galaxy Zoo 1 galaxies, from GZ1's own class words
  and from the simulated classes' prompts and symbols summed onto GZ1's classes;
- text → image precision@10 of every class's prompts over the simulated test set;
- few labels: with a share of the training labels, (a) ``ClassificationTask`` fine-tuned from
  the config's backbone, (b) the image–text model's frozen features with a linear probe,
  (c) the tri-modal model's, probed and fine-tuned; on the simulated classes and on GZ1.

Pictures: the symbol sheet, and the top 16 simulated test galaxies of a text query.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from galvision.benchmark.aligned_runs import (
    DEFAULT_VARIANTS,
    MOSAIC,
    SOURCES,
    TRI_MODAL,
    VARIANTS,
    AlignedModels,
    embed_images,
    parse_fractions,
    parse_variants,
    zero_shot_rows,
)
from galvision.benchmark.few_labels import real_few_labels, simulated_few_labels
from galvision.benchmark.gz1_scores import REAL_PATH, SIM_TO_GZ1
from galvision.benchmark.report import with_suffix, write_report
from galvision.benchmark.training import (
    add_config_argument,
    configure,
    describe_config,
)
from galvision.data.captions import GZ1_PROMPTS
from galvision.data.simulate.symbols import save_symbol_sheet
from galvision.errors import ConfigError
from galvision.plotting import save_ranked_mosaic
from galvision.query import rank_by_text
from galvision.tasks.alignment import AlignmentTask


# -- command --------------------------------------------------------------------------------
def query_mosaic(task: AlignmentTask, dataset, text: str, stem: Path) -> str:
    """The 16 simulated test galaxies nearest a text query: a 4×4 PNG in rank order (blank
    where the set is smaller) and their classes and cosines as a table; the Markdown."""
    embeddings, labels, images = embed_images(task, dataset, observe=True)
    scores, rows = rank_by_text(task, embeddings, text, MOSAIC)
    picture = save_ranked_mosaic(images[rows].numpy(), with_suffix(stem, ".png"))
    found = [
        {"rank": rank + 1, "class": task.class_names[int(labels[row])], "cosine": score}
        for rank, (row, score) in enumerate(zip(rows.tolist(), scores.tolist(), strict=True))
    ]
    return write_report(
        found,
        ["rank", "class", "cosine"],
        stem,
        f"Text query: '{text}'",
        f"The simulated test galaxies nearest the query in the tri-modal space: {picture}.",
    )


def run_alignment_benchmark(args: argparse.Namespace) -> str:
    """Train every variant, then the zero-shot, retrieval and few-label tables; the Markdown."""
    fractions = parse_fractions(args.fractions)
    variants = parse_variants(args.variants)
    if args.real is not None and not args.real.is_file():
        raise ConfigError(f"--real: no such file {args.real}")
    if not args.query.strip():
        raise ConfigError("--query: the text is empty; describe the galaxies to find")
    models = AlignedModels(args, variants)
    sim = configure(args.config, args.output / "align" / "sim-data", 1, args.seed, []).datamodule
    sim.setup("test")
    real = None
    if args.real is not None:
        extra = [REAL_PATH, str(args.real.resolve())]
        real = configure(args.real_config, args.output / "align" / "gz1-data", 1, args.seed, extra)
        real = real.datamodule
    sim_rows, retrieval_rows, real_rows = zero_shot_rows(models, sim, real)
    sheet = save_symbol_sheet(args.output / "align_symbols.png")
    query = query_mosaic(
        models.task(TRI_MODAL), sim.datasets["test"], args.query, args.output / "align_query"
    )
    changes = "; ".join(f"{v}: {' '.join(VARIANTS[v]) or 'as is'}" for v in variants)
    setting = (
        f"Every variant trains {describe_config(args.config)} for {args.steps} steps from seed "
        f"{args.seed} with its change ({changes})."
    )
    text = write_report(
        sim_rows,
        ["variant", *SOURCES, "retrieval"],
        args.output / "align_zero_shot",
        "Zero-shot morphology: simulated test set",
        f"{setting} Accuracy over the {len(sim.datasets['test'])} simulated test galaxies "
        "classified by the nearest class prototype: the class prompts' mean text embedding, "
        "16 varied class symbols' mean, or both summed; no image label. retrieval: in-batch "
        f"image→caption top-1. Symbol sheet: {sheet}.",
    )
    text += "\n" + query
    names = list(sim.class_names)
    text += "\n" + write_report(
        retrieval_rows,
        ["variant", *names, "mean"],
        args.output / "align_retrieval",
        "Text → image precision@10 by class",
        f"Each class's prompts (averaged) query the {len(sim.datasets['test'])} simulated test "
        "galaxies; the share of the 10 nearest that are of that class.",
    )
    if real is not None:
        text += "\n" + write_report(
            real_rows,
            ["variant", "from", "accuracy", "f1_macro", "auroc_spiral"],
            args.output / "align_zero_shot_gz1",
            "Zero-shot morphology: real Galaxy Zoo 1 galaxies",
            f"The {len(real.datasets['test'])} GZ1 test galaxies of {args.real}, no real label "
            "used. GZ1 class words: "
            f"{'; '.join(f'{k}: {v}' for k, v in GZ1_PROMPTS.items())}. simulated text / symbol "
            "/ both: the simulated classes' prototypes, probabilities summed onto GZ1's "
            f"({', '.join(f'{k}→{v}' for k, v in SIM_TO_GZ1.items())}).",
        )
    few = simulated_few_labels(args, models, fractions)
    text += "\n" + write_report(
        few,
        ["method", "labels", "accuracy", "f1_macro", "auroc"],
        args.output / "align_few_labels",
        "Few labels: simulated classes",
        f"Label shares of the training split of {args.classify_data}, drawn per class (at least "
        f"one each). Fine-tuned rows train {describe_config(args.classify_config)} for "
        f"{args.classify_steps} steps (few-label sets smaller than a batch drawn with "
        "replacement); (c) starts from the tri-modal backbone, (a) from the config's. Probes: a "
        "logistic regression on the frozen backbone's standardised pooled features. "
        "Zero-shot: class prompts, no label.",
    )
    if real is not None:
        text += "\n" + write_report(
            real_few_labels(args, models, fractions),
            ["method", "labels", "accuracy", "f1_macro", "auroc_spiral"],
            args.output / "align_few_labels_gz1",
            "Few labels: real Galaxy Zoo 1 galaxies",
            f"Label shares of the GZ1 training split ({describe_config(args.real_config)}); "
            f"fine-tuned rows train {args.real_steps} steps. Zero-shot: the simulated classes' "
            "prompts summed onto GZ1's.",
        )
    return text


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``galvision benchmark align``."""
    add_config_argument(parser, "tasks/align.yaml", "alignment task")
    parser.add_argument(
        "--variants",
        nargs="+",
        default=DEFAULT_VARIANTS,
        help=f"alignment variants, of {list(VARIANTS)} (tri-modal and image-text always run)",
    )
    parser.add_argument("--steps", type=int, default=400, help="training steps of every variant")
    parser.add_argument("--fractions", nargs="+", default=["0.01", "0.1", "1"], help="label shares")
    add_config_argument(
        parser, "tasks/classify.yaml", "classification task of row (a)", "--classify-config"
    )
    parser.add_argument(
        "--classify-data",
        type=Path,
        default=Path("configs/data/morphology_realistic.yaml"),
        help="its data: the alignment config's survey, without symbols and captions",
    )
    parser.add_argument("--classify-steps", type=int, default=300)
    parser.add_argument("--real", type=Path, default=Path("../shared/data/gz1_sdss_subset.h5"))
    add_config_argument(
        parser,
        "tasks/classify_gz1.yaml",
        "real-data task (dataset path from --real)",
        "--real-config",
    )
    parser.add_argument("--real-steps", type=int, default=200)
    parser.add_argument(
        "--query", default="a barred spiral galaxy with two arms", help="text of the mosaic"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=Path("benchmark_results"))


def run(args: argparse.Namespace) -> str:
    """Run ``galvision benchmark align`` from parsed arguments."""
    return run_alignment_benchmark(args)
