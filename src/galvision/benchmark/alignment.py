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

import numpy as np
import torch
from torch.utils.data import DataLoader
from torchmetrics.functional.classification import (
    multiclass_accuracy,
    multiclass_auroc,
    multiclass_f1_score,
)
from torchmetrics.functional.retrieval import retrieval_precision

from galvision.benchmark.classification import (
    REAL_PATH,
    SIM_TO_GZ1,
    WEIGHTS,
    gather_classes,
    predict_probabilities,
    real_scores,
)
from galvision.benchmark.probe import embed_split, linear_probe
from galvision.benchmark.report import with_suffix, write_report
from galvision.benchmark.training import (
    LAST,
    add_config_argument,
    configure,
    describe_config,
    resumable_run,
)
from galvision.checkpoints import load_checkpoint_task
from galvision.data import keys
from galvision.data.captions import GZ1_PROMPTS
from galvision.data.labelled import labelled_training
from galvision.data.simulate.symbols import save_symbol_sheet
from galvision.errors import ConfigError
from galvision.plotting import save_ranked_mosaic
from galvision.query import rank_by_text
from galvision.tasks.alignment import AlignmentTask
from galvision.tasks.classification import ClassificationTask
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


@torch.no_grad()
def zero_shot_probabilities(
    task: AlignmentTask, embeddings: torch.Tensor, source: str
) -> torch.Tensor:
    """Class probabilities of image embeddings from the prompts, the symbols or both."""
    prototypes = task.class_prototypes()[source]
    return (task.network.scale() * embeddings @ prototypes.T).softmax(1)


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
        own = (task.network.scale() * embeddings @ words.T).softmax(1)
        real_rows.append(
            {"variant": name, "from": "GZ1 class words", **real_scores(own, labels, names)}
        )
        for source in sources:
            mapped = gather_classes(
                zero_shot_probabilities(task, embeddings, source), task.class_names, names
            )
            real_rows.append(
                {
                    "variant": name,
                    "from": f"simulated {source}",
                    **real_scores(mapped, labels, names),
                }
            )
    return sim_rows, retrieval_rows, real_rows


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
        zero_shot = zero_shot_probabilities(task, embeddings, "text")
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
            zero_shot_probabilities(task, embeddings, "text"), task.class_names, names
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
