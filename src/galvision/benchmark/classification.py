"""The classification benchmark: accuracy against labels per class, simulated and real galaxies.

The simulated table trains every method on the morphology survey of ``--config`` with 10, 100
or all labels per class and the same schedule: (a) a ResNet-18 from scratch (timm), (b) the
galvision ViT from scratch, and with ``--foundation`` (c) a linear probe on the foundation's
frozen ViT, (d) the foundation ViT fine-tuned. ``--real`` adds the Galaxy Zoo 1 table on real
SDSS galaxies: the simulation-trained models applied as they are (their classes summed onto
GZ1's), then fine-tuned on 10 / 50 / all real labels per class, beside a ResNet-18 trained on
the same labels.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib.pyplot as plt

from galvision.benchmark.gz1_scores import (
    REAL_PATH,
    SIM_TO_GZ1,
    gather_classes,
    predict_probabilities,
    real_scores,
)
from galvision.benchmark.report import write_report
from galvision.benchmark.training import (
    LAST,
    ConfigFiles,
    Method,
    add_config_argument,
    configure,
    describe_config,
    loaded_backbone,
    resumable_run,
)
from galvision.checkpoints import load_checkpoint_task
from galvision.data.simulate.classes import CLASS_NAMES
from galvision.errors import ConfigError
from galvision.tasks.classification import ClassificationTask

COLUMNS = ("method", "training", "labels_per_class", "accuracy", "f1_macro", "auroc")
REAL_COLUMNS = ("method", "training", "labels_per_class", "accuracy", "f1_macro", "auroc_spiral")
BACKBONE = "--model.init_args.backbone"
WEIGHTS = f"{BACKBONE}.init_args.weights"
LABELS = "--data.init_args.labels_per_class"
ALL = "all"


def resnet_arguments(in_chans: int, img_size: int) -> tuple[str, ...]:
    """Arguments replacing the backbone by a timm ResNet-18 built for the same stamps."""
    backbone = (
        '{"class_path": "galvision.backbones.ConvBackbone", "init_args": {"name": "resnet18", '
        f'"in_chans": {in_chans}, "img_size": {img_size}, "model_kwargs": null}}}}'
    )
    return (BACKBONE, backbone)


def simulated_methods(foundation: str | None, in_chans: int, img_size: int) -> list[Method]:
    """The compared methods; the foundation rows only when a foundation is given."""
    methods = [
        Method(
            "resnet18", "ResNet-18 (timm)", "from scratch", resnet_arguments(in_chans, img_size)
        ),
        Method("vit", "galvision ViT", "from scratch", ()),
    ]
    if foundation is not None:
        weights = (WEIGHTS, foundation)
        methods += [
            Method(
                "foundation-probe",
                "galvision ViT, foundation",
                "linear probe",
                # A linear probe on fixed features takes a larger step than fine-tuning.
                (
                    *weights,
                    "--model.init_args.freeze_backbone",
                    "true",
                    "--model.init_args.head",
                    "galvision.heads.ClassifierHead",
                    "--model.init_args.head.init_args.norm",
                    "batch",
                    "--model.init_args.optimizer.init_args.lr",
                    "3e-3",
                ),
            ),
            Method("foundation-finetune", "galvision ViT, foundation", "fine-tuned", weights),
        ]
    return methods


def parse_label_counts(values: list[str]) -> list[int | None]:
    """``["10", "100", "all"]`` -> ``[10, 100, None]``; refuses anything else."""
    counts: list[int | None] = []
    for value in values:
        if value == ALL:
            counts.append(None)
        elif value.isdigit() and int(value) > 0:
            counts.append(int(value))
        else:
            raise ConfigError(f"--labels: {value!r} is neither a positive count nor {ALL!r}")
    return counts


def label_arguments(count: int | None) -> tuple[str, ...]:
    """The few-shot setting of one run."""
    return (LABELS, "null" if count is None else str(count))


def run_name(method: Method, count: int | None) -> str:
    return f"{method.key}-{ALL if count is None else count}"


def simulated_table(
    config: ConfigFiles,
    methods: list[Method],
    counts: list[int | None],
    steps: int,
    output: Path,
    seed: int,
) -> tuple[list[dict], dict[str, Path]]:
    """Train and test every method at every label count; rows and each run's folder."""
    rows, folders = [], {}
    for method in methods:
        for count in counts:
            folder = output / run_name(method, count)
            metrics = resumable_run(
                config, folder, steps, seed, [*method.arguments, *label_arguments(count)]
            )
            folders[run_name(method, count)] = folder
            rows.append(
                {
                    "method": method.name,
                    "training": method.training,
                    "labels_per_class": ALL if count is None else count,
                    **{name: metrics[f"test/{name}"] for name in COLUMNS[3:]},
                }
            )
    return rows, folders


def save_learning_curve(rows: list[dict], full_size: int, path: Path) -> None:
    """Accuracy and AUROC against labels per class, one line per method (``all`` at full_size)."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    curves: dict[str, list[tuple[int, dict]]] = {}
    for row in rows:
        count = row["labels_per_class"]
        label = f"{row['method']} ({row['training']})"
        curves.setdefault(label, []).append((full_size if count == ALL else count, row))
    for label, points in curves.items():
        points.sort(key=lambda point: point[0])
        for axis, metric in zip(axes, ("accuracy", "auroc"), strict=True):
            axis.plot([n for n, _ in points], [r[metric] for _, r in points], "o-", label=label)
    for axis, metric in zip(axes, ("accuracy", "macro one-vs-rest AUROC"), strict=True):
        axis.set_xscale("log")
        axis.set_xlabel("training labels per class")
        axis.set_ylabel(metric)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


# -- real galaxies --------------------------------------------------------------------------
def real_table(
    real: Path,
    real_config: ConfigFiles,
    sim_runs: dict[str, Path],
    counts: list[int | None],
    steps: int,
    output: Path,
    seed: int,
) -> tuple[list[dict], int]:
    """Transfer rows (no real labels) and fine-tuning rows on the fixed GZ1 split."""
    data_arguments = [REAL_PATH, str(real)]
    probe = configure(real_config, output / "probe", 1, seed, data_arguments)
    datamodule, names = probe.datamodule, probe.datamodule.class_names
    test_size = len(datamodule.datasets["test"])
    rows = []
    for key, method in (("resnet18", "ResNet-18 (timm)"), ("vit", "galvision ViT")):
        task = load_checkpoint_task(sim_runs[f"{key}-{ALL}"] / LAST, ClassificationTask)
        probabilities, labels = predict_probabilities(task, datamodule, "test")
        scores = real_scores(gather_classes(probabilities, task.class_names, names), labels, names)
        rows.append(
            {
                "method": method,
                "training": "simulation only, classes mapped",
                "labels_per_class": 0,
                **scores,
            }
        )
    in_chans, img_size = probe.model.backbone.in_chans, probe.model.backbone.img_size
    sim_vit = sim_runs[f"vit-{ALL}"] / LAST
    methods = [
        Method(
            "resnet18", "ResNet-18 (timm)", "from scratch", resnet_arguments(in_chans, img_size)
        ),
        Method(
            "vit-sim", "galvision ViT", "simulation-trained, fine-tuned", (WEIGHTS, str(sim_vit))
        ),
    ]
    for method in methods:
        for count in counts:
            folder = output / f"real-{run_name(method, count)}"
            arguments = [*data_arguments, *method.arguments, *label_arguments(count)]
            resumable_run(real_config, folder, steps, seed, arguments)
            task = load_checkpoint_task(folder / LAST, ClassificationTask)
            scores = real_scores(*predict_probabilities(task, datamodule, "test"), names)
            rows.append(
                {
                    "method": method.name,
                    "training": method.training,
                    "labels_per_class": ALL if count is None else count,
                    **scores,
                }
            )
    return rows, test_size


# -- command --------------------------------------------------------------------------------
def run_classification_benchmark(args: argparse.Namespace) -> str:
    """Both tables (the real one with ``--real``), the learning curve; the Markdown written."""
    foundation = args.foundation
    if foundation is not None:
        loaded_backbone(f"--foundation {foundation}", foundation)  # fails now, not after training
    counts = parse_label_counts(args.labels)
    if args.real is not None and None not in counts:
        raise ConfigError(f"--real needs the {ALL!r} label setting among --labels")
    runs = args.output / "classify"
    probe = configure(args.config, runs / "probe", 1, args.seed, [])
    backbone = probe.model.backbone
    methods = simulated_methods(foundation, backbone.in_chans, backbone.img_size)
    if args.methods:
        unknown = sorted(set(args.methods) - {m.key for m in methods})
        if unknown:
            raise ConfigError(
                f"--methods: {unknown} not among {[m.key for m in methods]} (foundation rows "
                "need --foundation)"
            )
        methods = [m for m in methods if m.key in args.methods]
    if args.real is not None and not {"resnet18", "vit"} <= {m.key for m in methods}:
        raise ConfigError("--real needs the resnet18 and vit rows, whose models it transfers")
    rows, sim_runs = simulated_table(args.config, methods, counts, args.steps, runs, args.seed)
    probe.datamodule.setup("fit")
    full = len(probe.datamodule.datasets["train"]) // len(CLASS_NAMES)
    save_learning_curve(rows, full, args.output / "classify_learning_curve.png")
    notes = (
        f"Simulated morphology survey of {describe_config(args.config)}: "
        f"{len(CLASS_NAMES)} classes, "
        f"{len(probe.datamodule.datasets['test'])} test galaxies, {ALL} = {full} per class. "
        f"Every row trains {args.steps} steps of the config's schedule from seed {args.seed}; "
        f"test metrics with the config's test-time augmentation; AUROC is the macro "
        f"one-vs-rest AUROC. Foundation: {foundation}. Runs in {runs}. Learning curve: "
        f"{args.output / 'classify_learning_curve.png'}."
    )
    text = write_report(
        rows, COLUMNS, args.output / "classify_simulated", "Morphology: simulated survey", notes
    )
    if args.real is None:
        return text
    if not args.real.is_file():
        raise ConfigError(f"--real: no such file {args.real}")
    real_counts = parse_label_counts(args.real_labels)
    real_rows, test_size = real_table(
        args.real.resolve(),
        args.real_config,
        sim_runs,
        real_counts,
        args.real_steps,
        runs,
        args.seed,
    )
    real_notes = (
        f"Galaxy Zoo 1 SDSS galaxies of {args.real} as configured in "
        f"{describe_config(args.real_config)} "
        f"(elliptical / spiral / edge_on / merger), {test_size} test galaxies never trained on. "
        f"Simulation-only rows use the {ALL}-label simulated runs with their classes summed "
        f"onto GZ1's ({', '.join(f'{k}→{v}' for k, v in SIM_TO_GZ1.items())}). Fine-tuned rows "
        f"train {args.real_steps} steps; the ViT starts from the {ALL}-label simulated "
        f"from-scratch run. auroc_spiral: spiral vs elliptical galaxies, scored by "
        f"p(spiral) / (p(spiral) + p(elliptical))."
    )
    return (
        text
        + "\n"
        + write_report(
            real_rows,
            REAL_COLUMNS,
            args.output / "classify_gz1",
            "Morphology: real SDSS galaxies",
            real_notes,
        )
    )


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``galvision benchmark classify``."""
    add_config_argument(parser, "tasks/classify.yaml", "simulated task")
    parser.add_argument(
        "--foundation",
        help="rows (c) and (d) start from it: a foundation name, exported folder or checkpoint",
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        help="keys of the rows to run (resnet18 vit foundation-probe foundation-finetune)",
    )
    parser.add_argument("--labels", nargs="+", default=["10", "100", ALL], help="per class")
    parser.add_argument("--steps", type=int, default=600, help="training steps of every run")
    parser.add_argument("--real", type=Path, help="GZ1-layout HDF5 for the real-galaxy table")
    add_config_argument(
        parser,
        "tasks/classify_gz1.yaml",
        "real-data task (its dataset path is replaced by --real)",
        "--real-config",
    )
    parser.add_argument("--real-labels", nargs="+", default=["10", "50", ALL])
    parser.add_argument("--real-steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0, help="seed of every run")
    parser.add_argument("--output", type=Path, default=Path("benchmark_results"))


def run(args: argparse.Namespace) -> str:
    """Run ``galvision benchmark classify`` from parsed arguments."""
    return run_classification_benchmark(args)
