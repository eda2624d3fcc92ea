"""``galvision benchmark <task>``: print and save the tables a paper would show."""

from __future__ import annotations

import argparse
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    """Arguments of every benchmark, one sub-command per task."""
    parser = argparse.ArgumentParser(prog="galvision benchmark", description=__doc__)
    tasks = parser.add_subparsers(dest="task", required=True)
    deconv = tasks.add_parser("deconv", help="PSF deconvolution against Wiener and RL")
    deconv.add_argument("--ckpt", type=Path, required=True, help="checkpoint of `galvision fit`")
    deconv.add_argument(
        "--truth",
        type=Path,
        default=None,
        help="high-resolution truth: HDF5 (COSMOS layout or images), or a "
        "folder/file of FITS/PNG; default: the simulated test set",
    )
    deconv.add_argument(
        "--max-mag",
        type=float,
        default=None,
        help="keep truth galaxies brighter than this (COSMOS layout)",
    )
    deconv.add_argument(
        "--tune-images", type=int, default=64, help="validation galaxies used to tune the baselines"
    )
    deconv.add_argument("--output", type=Path, default=Path("benchmark_results"))
    return parser


def benchmark_main(argv: list[str]) -> None:
    """Run the benchmark named in ``argv`` and print its Markdown table."""
    args = build_parser().parse_args(argv)
    if args.task == "deconv":
        from galvision.benchmark.deconvolution import run_deconvolution_benchmark

        text = run_deconvolution_benchmark(
            args.ckpt,
            args.output,
            truth=args.truth,
            max_mag=args.max_mag,
            tune_images=args.tune_images,
        )
        print(text)
