"""The foundation benchmark: which pretraining recipe makes the backbone every task starts from.

Each row is a backbone: the configs' own at random initialisation, then every ``--foundation
NAME=SOURCE`` (a checkpoint of any galvision task, a folder of ``galvision export`` or a cached
foundation name). Its frozen features are probed as ``galvision benchmark probe`` does (the
simulated morphology classes, and Galaxy Zoo 1 with ``--real``); then every chosen task is
fine-tuned from it for the same steps from the same seed and tested on its fixed test set.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from galvision.benchmark.arguments import named_values
from galvision.benchmark.probe import (
    RANDOM,
    FrozenSets,
    SimulatedEmbeddings,
    add_real_arguments,
    frozen_notes,
    frozen_scores,
    gz1_column,
    random_backbone,
)
from galvision.benchmark.report import write_report
from galvision.benchmark.training import (
    ConfigFiles,
    add_config_argument,
    configure,
    describe_config,
    loaded_backbone,
    resumable_run,
)
from galvision.cli import configuration_reason
from galvision.errors import ConfigError
from galvision.tasks.base import GalaxyTask
from galvision.tasks.deconvolution import DeconvolutionTask
from galvision.tasks.lens_detection import LensDetectionTask
from galvision.tasks.reconstruction import ReconstructionTask

TITLE = "Foundation: frozen features and fine-tuning at equal budget"
WEIGHTS = "--model.init_args.backbone.init_args.weights"
RANDOM_LABEL = "random init"
GZ1_COUNTS = (10, None)  # labels per class of the GZ1 probes; None: all
GZ1_METRICS = ("accuracy", "f1_macro", "auroc_spiral")


@dataclass(frozen=True)
class FineTune:
    """One fine-tuned column: the task its config must build and the test metric it reports."""

    column: str
    metric: str
    task: type[GalaxyTask]
    config: tuple[str, ...]
    meaning: str


FINE_TUNES = {
    "deconv": FineTune(
        "deconv_psnr",
        "test/psnr",
        DeconvolutionTask,
        # Isolated galaxies: the fine-tune's data stays what the table was measured on.
        ("tasks/deconv.yaml", "configs/overlays/isolated_galaxies.yaml"),
        "PSNR of the restored images in display space",
    ),
    "reconstruct": FineTune(
        "reconstruct_psnr",
        "test/psnr",
        ReconstructionTask,
        ("tasks/reconstruct.yaml",),
        "PSNR of the composite, whose visible pixels are the input's, so all its error lies in "
        "the masked pixels",
    ),
    "lens": FineTune(
        "lens_auroc",
        "test/auroc",
        LensDetectionTask,
        ("tasks/lens.yaml",),
        "lens / no-lens AUROC of each field's best score",
    ),
}


def parse_foundations(values: list[str]) -> dict[str, str]:
    """``["mae=runs/pretrain/checkpoints/last.ckpt", ...]`` -> {name: source}, in order."""
    foundations = named_values(values, "--foundation", "SOURCE")
    if RANDOM in foundations:
        raise ConfigError(
            f"--foundation {RANDOM}={foundations[RANDOM]}: the name {RANDOM!r} is already a row"
        )
    return foundations


def load_foundations(foundations: dict[str, str]) -> dict[str, torch.nn.Module]:
    """Every foundation's backbone, or one line naming the first that cannot be loaded."""
    return {
        name: loaded_backbone(f"--foundation {name}={source}", source)
        for name, source in foundations.items()
    }


def weight_arguments(source: str | None) -> list[str]:
    """The fine-tune's starting weights: ``source``, or the config's own (random init)."""
    return [] if source is None else [WEIGHTS, source]


def check_fine_tunes(
    configs: dict[str, ConfigFiles],
    sources: dict[str, str | None],
    runs: Path,
    steps: int,
    seed: int,
) -> None:
    """Build every fine-tune before any trains, so a source that does not fit fails at once."""
    for key, config in configs.items():
        expected = FINE_TUNES[key].task
        for name, source in sources.items():
            try:
                extra = weight_arguments(source)
                model = configure(config, runs / key / name, steps, seed, extra).model
            except Exception as error:  # jsonargparse wraps what the task's classes raise
                reason = configuration_reason(error)
                if reason is None:
                    raise
                culprit = f"--{key}-config {describe_config(config)}"
                if source is not None:
                    culprit = f"--foundation {name}={source} with {culprit}"
                raise ConfigError(f"{culprit}: {reason}") from None
            if not isinstance(model, expected):
                raise ConfigError(
                    f"--{key}-config {describe_config(config)} configures a "
                    f"{type(model).__name__}, not a {expected.__name__}"
                )


def fine_tuned_score(
    key: str, config: ConfigFiles, source: str | None, run_dir: Path, steps: int, seed: int
) -> float:
    """The test metric of one fine-tune, trained now or read back from a finished run."""
    metrics = resumable_run(config, run_dir, steps, seed, weight_arguments(source))
    metric = FINE_TUNES[key].metric
    if metric not in metrics:
        raise ConfigError(
            f"--{key}-config {describe_config(config)}: the run logged no {metric} "
            f"(it logged {', '.join(sorted(metrics))})"
        )
    return metrics[metric]


def save_embedding_map(embedded: dict[str, SimulatedEmbeddings], path: Path, seed: int) -> Path:
    """PCA of each row's standardised test-split embeddings, one panel per row, by class."""
    figure, axes = plt.subplots(
        1, len(embedded), figsize=(3.6 * len(embedded) + 1.8, 3.6), squeeze=False
    )
    for axis, (label, found) in zip(axes[0], embedded.items(), strict=True):
        features, labels = found.test
        pca = make_pipeline(StandardScaler(), PCA(n_components=2, random_state=seed))
        points = pca.fit_transform(features)
        colours = plt.get_cmap("tab10" if len(found.class_names) <= 10 else "tab20")
        for index, name in enumerate(found.class_names):
            chosen = labels == index
            axis.scatter(*points[chosen].T, s=10, color=colours(index), label=name)
        explained = pca[-1].explained_variance_ratio_
        axis.set_title(label, fontsize=9)
        axis.set_xlabel(f"PC 1 ({explained[0]:.0%})", fontsize=8)
        axis.set_ylabel(f"PC 2 ({explained[1]:.0%})", fontsize=8)
        axis.tick_params(labelsize=7)
    handles, names = axes[0, 0].get_legend_handles_labels()
    figure.legend(handles, names, loc="center right", fontsize=7, frameon=False)
    figure.tight_layout(rect=(0, 0, 1 - 1.8 / figure.get_figwidth(), 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def columns_of(real: bool, tasks: list[str]) -> list[str]:
    """The table's columns: frozen-feature scores, then one per fine-tuned task."""
    gz1 = [gz1_column(c, m) for c in GZ1_COUNTS for m in GZ1_METRICS] if real else []
    return ["foundation", "sim_linear", "sim_knn", *gz1, *(FINE_TUNES[t].column for t in tasks)]


def run_foundation_benchmark(args: argparse.Namespace) -> str:
    """Frozen-feature and fine-tuned scores of every row; the Markdown written."""
    if args.steps < 1:
        raise ConfigError(f"--steps {args.steps} must be at least 1")
    foundations = parse_foundations(args.foundation)
    runs = args.output / "foundation"
    sets = FrozenSets(
        args.classify_config, args.real, args.real_config, GZ1_COUNTS, runs, args.seed
    )
    tasks = [key for key in FINE_TUNES if key in args.tasks]
    configs = {key: getattr(args, f"{key}_config") for key in tasks}
    sources: dict[str, str | None] = {RANDOM: None, **foundations}
    loaded = load_foundations(foundations)
    backbones = {RANDOM: random_backbone(args.classify_config, runs, args.seed), **loaded}
    check_fine_tunes(configs, sources, runs, args.steps, args.seed)
    rows, embedded = [], {}
    for name, backbone in backbones.items():
        label = RANDOM_LABEL if name == RANDOM else name
        scores, embedded[label] = frozen_scores(backbone, sets)
        rows.append({"foundation": label, **scores})
    for key, config in configs.items():
        for row, (name, source) in zip(rows, sources.items(), strict=True):
            run_dir = runs / key / name
            row[FINE_TUNES[key].column] = fine_tuned_score(
                key, config, source, run_dir, args.steps, args.seed
            )
    picture = save_embedding_map(embedded, args.output / "foundation_embeddings.png", args.seed)
    tuned = "; ".join(
        f"{FINE_TUNES[key].column}: {FINE_TUNES[key].metric} of {describe_config(config)}, "
        f"{FINE_TUNES[key].meaning}"
        for key, config in configs.items()
    )
    tuned = f"{tuned}." if tuned else "No task fine-tuned."
    notes = (
        f"Rows: the configs' own backbones at random initialisation, then "
        f"{', '.join(f'{name} = {source}' for name, source in foundations.items())}. "
        f"{frozen_notes(sets)} Fine-tuned at equal budget: every run trains {args.steps} steps "
        f"from seed {args.seed}, its backbone starting from the row's weights, and is tested on "
        f"its config's fixed test set. {tuned} Runs in {runs} (a rerun reads finished runs "
        f"back). PCA of the frozen embeddings of the simulated test split, one panel per row: "
        f"{picture}."
    )
    return write_report(rows, columns_of(args.real is not None, tasks), runs, TITLE, notes)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``galvision benchmark foundation``."""
    parser.add_argument(
        "--foundation",
        nargs="+",
        required=True,
        metavar="NAME=SOURCE",
        help="rows beside random init: a checkpoint of any task, an exported folder or a "
        "cached foundation name",
    )
    parser.add_argument("--steps", type=int, default=200, help="fine-tuning steps of every run")
    parser.add_argument(
        "--tasks",
        nargs="*",
        choices=list(FINE_TUNES),
        default=list(FINE_TUNES),
        help="tasks to fine-tune (none: frozen features only)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every run and probe")
    parser.add_argument("--output", type=Path, default=Path("benchmark_results"))
    add_config_argument(
        parser, "tasks/classify.yaml", "simulated morphology task", "--classify-config"
    )
    add_real_arguments(parser)
    for key, fine_tune in FINE_TUNES.items():
        add_config_argument(parser, fine_tune.config, f"{key} task", f"--{key}-config")


def run(args: argparse.Namespace) -> str:
    """Run ``galvision benchmark foundation`` from parsed arguments."""
    return run_foundation_benchmark(args)
