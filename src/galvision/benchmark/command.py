"""``galvision benchmark <name>``: print and save the tables a paper would show.

Each benchmark is a module with ``configure_parser(parser)`` (its arguments) and
``run(args) -> str`` (the Markdown it wrote), listed in ``BENCHMARKS``.
"""

from __future__ import annotations

import argparse
import importlib

from galvision.folders import check_writable

BENCHMARKS = {
    "deconv": ("galvision.benchmark.deconvolution", "PSF deconvolution vs Wiener and RL"),
    "reconstruct": ("galvision.benchmark.reconstruction", "masked reconstruction vs biharmonic"),
    "foundation": ("galvision.benchmark.foundation", "frozen and fine-tuned foundations"),
    "classify": ("galvision.benchmark.classification", "morphology vs labels per class"),
    "probe": ("galvision.benchmark.probe", "frozen features: linear probe and k-NN"),
    "sim2real": ("galvision.benchmark.sim2real", "simulated surveys against real GZ1 galaxies"),
    "lens": ("galvision.benchmark.lens", "strong-lens detection vs Faster R-CNN"),
    "align": ("galvision.benchmark.alignment", "zero-shot and few-label morphology, text queries"),
    "multitask": ("galvision.benchmark.multitask", "single- vs multi-task training, equal budget"),
    "outliers": ("galvision.benchmark.outliers", "planted rare objects found from embeddings"),
    "active": ("galvision.benchmark.active", "labels active learning needs against random"),
    "speed": ("galvision.benchmark.speed", "framework overhead, data path, search at scale"),
    "throughput": ("galvision.benchmark.throughput", "training and inference images per second"),
}


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """Arguments of every benchmark, one sub-command each.

    Only ``chosen``'s module is imported (every module when None), so a benchmark needs none
    of the others' libraries (FAISS for ``speed``, say) and starts sooner.
    """
    parser = argparse.ArgumentParser(prog="galvision benchmark", description=__doc__)
    names = parser.add_subparsers(dest="benchmark", required=True)
    for name, (module, help_text) in BENCHMARKS.items():
        sub = names.add_parser(name, help=help_text)
        if chosen in (None, name):
            importlib.import_module(module).configure_parser(sub)
    return parser


def benchmark_main(argv: list[str]) -> None:
    """Run the benchmark named in ``argv`` and print its Markdown table."""
    chosen = next((word for word in argv if not word.startswith("-")), None)
    args = build_parser(chosen if chosen in BENCHMARKS else None).parse_args(argv)
    check_writable(args.output, "--output")
    module = importlib.import_module(BENCHMARKS[args.benchmark][0])
    print(module.run(args))
