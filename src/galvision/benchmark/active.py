"""``galvision benchmark active``: does active learning save labels?

An oracle labels each pool from its true classes through the labelling service, page by page,
for every acquisition strategy and seed; after each page the session's learner (a logistic
regression on frozen foundation embeddings) is scored on a fixed test split. A ResNet-18 trained
from scratch on random labels of the same pool is the reference. The table gives the labels each
method needs to reach AUROC 0.90 and 0.95 (mean over seeds; ``>`` when a seed never does), and
the AUROC at a few label counts; a PNG draws the curves. The sets are the simulated survey's
training split (its 10 classes) and the Galaxy Zoo 1 SDSS pool (spiral vs elliptical), scored on
the fixed test split of ``configs/data/gz1.yaml``; ``gz1-subset`` labels the same pool and is
scored on every elliptical and spiral of that catalogue (its training and validation splits
too, which no oracle labels: the pool is a disjoint file), three times as many galaxies;
``gz1-dev`` scores on those training and validation splits alone, so that settings such as the
prior's weight can be chosen without looking at the test split. Several prior weights make a
row per strategy and weight.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from tqdm.auto import tqdm

from galvision.benchmark.active_latency import measure_latency
from galvision.benchmark.active_plot import save_curves
from galvision.benchmark.active_runs import (
    every_label_scores,
    heldout_scores,
    labelling_code,
    oracle_curve,
    resnet_point,
    resumable_curve,
)
from galvision.benchmark.active_sets import (
    ActiveSet,
    Prior,
    Split,
    embed_set,
    embedding_name,
    set_classes,
)
from galvision.benchmark.gz1_scores import SIM_TO_GZ1
from galvision.benchmark.report import half_range, with_spread, write_report
from galvision.benchmark.training import add_config_argument
from galvision.errors import ConfigError
from galvision.label.acquisition import STRATEGIES

THRESHOLDS = (0.90, 0.95)
GZ1_CLASSES = ("elliptical", "spiral")
RESNET = "ResNet-18 from scratch"


def default_sets(args: argparse.Namespace) -> dict[str, ActiveSet]:
    """The simulated survey and the GZ1 pool (scored on the test split of the GZ1 subset, on
    all of it, or on all but its test split), from the command's data configs."""
    onto_gz1 = {sim: gz1 for sim, gz1 in SIM_TO_GZ1.items() if gz1 in GZ1_CLASSES}
    return {
        "sim": ActiveSet("sim", args.sim_data, "train", args.sim_data),
        "gz1": ActiveSet(
            "gz1", args.gz1_pool, None, args.gz1_test, GZ1_CLASSES, prior_classes=onto_gz1
        ),
        "gz1-subset": ActiveSet(
            "gz1-subset",
            args.gz1_pool,
            None,
            args.gz1_test,
            GZ1_CLASSES,
            test_split=None,
            prior_classes=onto_gz1,
        ),
        "gz1-dev": ActiveSet(
            "gz1-dev",
            args.gz1_pool,
            None,
            args.gz1_test,
            GZ1_CLASSES,
            test_split=("train", "val"),
            prior_classes=onto_gz1,
        ),
    }


def labels_to_reach(curve: list[dict], threshold: float) -> int | None:
    """The fewest labels at which the curve's AUROC reaches ``threshold`` (None: never)."""
    return next((point["labels"] for point in curve if point["auroc"] >= threshold), None)


def reach_cell(curves: list[list[dict]], threshold: float, budget: int) -> str:
    """Mean labels over seeds to reach ``threshold``, or ``> budget`` if any seed never does."""
    reached = [labels_to_reach(curve, threshold) for curve in curves]
    if any(count is None for count in reached):
        return f"> {budget}"
    return with_spread("labels", statistics.fmean(reached), spread(reached))


def spread(values: list[float]) -> float | None:
    """Half the range over seeds, or None for one seed."""
    return half_range(values) if len(values) > 1 else None


def score_at(curves: list[list[dict]], labels: int, metric: str = "auroc") -> str:
    """Mean ``metric`` over seeds with exactly ``labels`` labels ("—" where a run has no such
    point)."""
    values = []
    for curve in curves:
        found = [point[metric] for point in curve if point["labels"] == labels]
        if not found:
            return "—"
        values.append(found[0])
    return with_spread(metric, statistics.fmean(values), spread(values))


def set_table(
    curves: dict[str, list[list[dict]]], checkpoints: list[int], budget: int
) -> list[dict]:
    """One row per method: labels to each AUROC threshold, AUROC at each checkpoint."""
    rows = []
    for method, runs in curves.items():
        row = {"method": method}
        limit = max(point["labels"] for run in runs for point in run) if runs[0] else budget
        for threshold in THRESHOLDS:
            row[f"labels_to_{threshold:.2f}"] = reach_cell(runs, threshold, limit)
        for count in checkpoints:
            row[f"auroc@{count}"] = score_at(runs, count)
        rows.append(row)
    return rows


def accuracy_table(curves: dict[str, list[list[dict]]], checkpoints: list[int]) -> list[dict]:
    """One row per method: accuracy at each checkpoint."""
    return [
        {"method": method} | {f"accuracy@{n}": score_at(runs, n, "accuracy") for n in checkpoints}
        for method, runs in curves.items()
    ]


def run_set(args: argparse.Namespace, active: ActiveSet) -> tuple[dict, dict, str]:
    """Curves of every strategy (and the ResNet-18) on one set, the learner's latency, and a
    note of what the learner reaches with every pool label."""
    folder = args.output / "active" / active.name
    classes = set_classes(active)
    prior = None if args.prior is None else Prior(args.prior, active.prior_classes)
    pool, test = embed_set(
        active, args.backbone, folder.parent / "embeddings", args.invariant, classes, prior
    )
    embeddings = embedding_name(active, args.backbone, args.invariant)
    code = labelling_code()
    budget = min(args.budget, len(pool.rows) // args.page * args.page)
    weights = args.prior_weight
    curves: dict[str, list[list[dict]]] = {}
    runs = [(s, w, seed) for s in args.strategies for w in weights for seed in args.seeds]
    for strategy, weight, seed in tqdm(runs, desc=f"oracle curves ({active.name})", unit="curve"):
        key = {
            "strategy": strategy,
            "seed": seed,
            "budget": budget,
            "page": args.page,
            "embeddings": embeddings,
            "code": code,
            "prior": None if prior is None else f"{prior.name()}x{weight:g}",
        }
        method = strategy if len(weights) == 1 else f"{strategy}, prior weight {weight:g}"
        curves.setdefault(method, []).append(
            resumable_curve(
                folder / "curves",
                key,
                lambda s=strategy, w=weight, seed=seed: oracle_curve(
                    pool, test, classes, s, seed, budget, args.page, folder, w
                ),
            )
        )
    counts = resnet_counts(args.resnet_labels, len(pool.rows))
    if counts:
        curves[RESNET] = [
            [
                resnet_point(
                    active, pool, classes, count, args.config, args.resnet_steps, seed, folder
                )
                for count in counts
            ]
            for seed in args.seeds[: args.resnet_seeds]
        ]
    notes = every_label_note(pool, test, classes) + prior_note(test, classes, args)
    return curves, measure_latency(pool, classes, args.page), notes


def resnet_counts(requested: list[str], pool: int) -> list[int]:
    """The ResNet-18's label counts in order, each once; ``all`` or a count beyond the pool is
    the whole pool."""
    return sorted({pool if c == "all" else min(int(c), pool) for c in requested})


def every_label_note(pool: Split, test: Split, classes: list[str]) -> str:
    """The learner's test AUROC with every pool label, and how much the test draw moves it."""
    scores = every_label_scores(pool, test, len(classes), seed=0)
    return (
        f"The learner on all {len(pool.labels)} pool labels: AUROC {scores['auroc']:.3f} "
        f"(standard deviation {scores['auroc_sd']:.3f} over bootstrap draws of the "
        f"{len(test.labels)} test galaxies), accuracy {scores['accuracy']:.3f}."
    )


def prior_note(test: Split, classes: list[str], args: argparse.Namespace) -> str:
    """The test AUROC of the prior alone, before any label, and its weight."""
    if test.prior is None:
        return ""
    scores = heldout_scores(test.prior, test, len(classes))
    return (
        f" The prior ({args.prior}, weight {', '.join(f'{w:g}' for w in args.prior_weight)}) "
        "alone, before any label: "
        f"AUROC {scores['auroc']:.3f}, accuracy {scores['accuracy']:.3f}."
    )


def resnet_note(runs: list[list[dict]] | None, args: argparse.Namespace) -> str:
    """How the ResNet-18 trained and its AUROC at each of its label counts (the mean over its
    seeds), for the notes."""
    if not runs:
        return ""
    points = ", ".join(
        f"{statistics.fmean(run[i]['auroc'] for run in runs):.3f} at {point['labels']}"
        for i, point in enumerate(runs[0])
    )
    seeds = " ".join(map(str, args.seeds[: len(runs)]))
    return (
        f"{RESNET}: {args.resnet_steps} steps on random labels, seed{'s' * (len(runs) > 1)} "
        f"{seeds} (AUROC {points} labels). "
    )


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse budgets that measure nothing, and prior weights that cannot be told apart."""
    if args.page < 1 or args.budget < args.page:
        raise ConfigError(f"--budget {args.budget} must hold at least one --page {args.page}")
    if not 1 <= args.resnet_seeds <= len(args.seeds):
        raise ConfigError(f"--resnet-seeds {args.resnet_seeds}: not between 1 and the seeds given")
    for count in args.resnet_labels:
        if count != "all" and not (count.isdigit() and int(count) > 1):
            raise ConfigError(f"--resnet-labels: {count!r} is neither a count above 1 nor 'all'")
    weights = args.prior_weight
    if any(weight < 0 for weight in weights) or len(set(weights)) < len(weights):
        raise ConfigError(f"--prior-weight {weights}: each must be distinct and not negative")
    if len(weights) > 1 and args.prior is None:
        raise ConfigError(f"--prior-weight {weights}: several weights need a --prior")


def run(args: argparse.Namespace) -> str:
    """Every set's curves, tables of AUROC (``active_<set>.md``, ``.csv``) and accuracy
    (``active_<set>_accuracy.md``, ``.csv``), and figure (``.png``)."""
    check_arguments(args)
    sets = default_sets(args)
    columns = ["method"] + [f"labels_to_{t:.2f}" for t in THRESHOLDS]
    columns += [f"auroc@{count}" for count in args.checkpoints]
    reports = []
    for name in args.sets:
        curves, latency, ceiling = run_set(args, sets[name])
        stem = args.output / f"active_{name}"
        save_curves({name: curves}, stem.with_suffix(".png"))
        notes = (
            f"Oracle labels, pages of {args.page}, learner retrained every page; seeds "
            f"{' '.join(map(str, args.seeds))} (± half their range); backbone {args.backbone}"
            f"{', embeddings averaged over turns and flips' if args.invariant else ''}. "
            f"{resnet_note(curves.get(RESNET), args)}A label to rescored page in "
            f"{latency['median']:.2f} s (median, max {latency['max']:.2f} s) over "
            f"{latency['pool']} galaxies. {ceiling}"
        )
        rows = set_table(curves, args.checkpoints, args.budget)
        reports.append(write_report(rows, columns, stem, f"Active learning: {name}", notes))
        accuracy = accuracy_table(curves, args.checkpoints)
        accuracy_columns = ["method"] + [f"accuracy@{count}" for count in args.checkpoints]
        title = f"Active learning: {name}, test accuracy"
        reports.append(write_report(accuracy, accuracy_columns, Path(f"{stem}_accuracy"), title))
    return "\n".join(reports)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``galvision benchmark active``."""
    parser.add_argument("--backbone", default="foundation", help="foundation, export or checkpoint")
    parser.add_argument(
        "--sets",
        nargs="+",
        choices=["sim", "gz1", "gz1-subset", "gz1-dev"],
        default=["sim", "gz1"],
    )
    parser.add_argument(
        "--invariant",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="embeddings averaged over the 8 turns and flips, as galvision label makes them",
    )
    parser.add_argument(
        "--prior",
        type=Path,
        default=None,
        help="a classification or alignment checkpoint scoring every galaxy before any label "
        "(on GZ1 its simulated classes are summed onto elliptical and spiral)",
    )
    parser.add_argument(
        "--prior-weight",
        type=float,
        nargs="+",
        default=[1.0],
        help="probabilities × prior^w; several: a row per strategy and weight",
    )
    parser.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", type=int, default=400, help="labels per oracle run")
    parser.add_argument("--page", type=int, default=10, help="labels per page (and retrain)")
    parser.add_argument("--checkpoints", type=int, nargs="+", default=[20, 50, 100, 200, 400, 800])
    parser.add_argument(
        "--resnet-labels", nargs="*", default=["50", "200", "800", "1200", "1600", "2400", "all"],
        help="label counts of the ResNet-18 reference ('all' or beyond the pool: the whole pool; "
        "none: skip it)",
    )  # fmt: skip
    parser.add_argument("--resnet-steps", type=int, default=600)
    parser.add_argument(
        "--resnet-seeds", type=int, default=1, help="the ResNet-18 trained from the first N seeds"
    )
    add_config_argument(parser, "tasks/classify.yaml", "the ResNet-18's task config")
    parser.add_argument(
        "--sim-data", type=Path, default=Path("configs/data/morphology_realistic.yaml")
    )
    parser.add_argument("--gz1-pool", type=Path, default=Path("configs/data/gz1_pool.yaml"))
    parser.add_argument("--gz1-test", type=Path, default=Path("configs/data/gz1.yaml"))
    parser.add_argument("--output", type=Path, default=Path("benchmark_results"))
