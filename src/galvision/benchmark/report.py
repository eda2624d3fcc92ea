"""Benchmark tables as Markdown and CSV, written together and printed."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

from galvision.errors import ConfigError, DataError

ARROWS = {
    "mse": "MSE ↓",
    "psnr": "PSNR ↑",
    "ssim": "SSIM ↑",
    "colour_mae": "colour MAE ↓",
    "accuracy": "accuracy ↑",
    "auroc": "AUROC ↑",
    "f1_macro": "macro-F1 ↑",
    "auroc_spiral": "AUROC spiral vs elliptical ↑",
    "labels_per_class": "labels / class",
    "map_50": "mAP@0.5 ↑",
    "map": "mAP@0.5:0.95 ↑",
    "full_psnr": "whole-image PSNR ↑",
    "classify_accuracy": "morphology accuracy ↑",
    "lens_auroc": "lens AUROC ↑",
    "deconv_psnr": "deconv PSNR ↑",
    "deconv_ssim": "deconv SSIM ↑",
    "reconstruct_psnr": "reconstruction PSNR ↑",
    "reconstruct_ssim": "reconstruction SSIM ↑",
}
FORMATS = {
    "mse": "{:.2e}",
    "psnr": "{:.2f}",
    "ssim": "{:.4f}",
    "colour_mae": "{:.2e}",
    "parameters_m": "{:.2f}",
    "train_images_per_s": "{:.1f}",
    "infer_images_per_s": "{:.1f}",
    "train_ratio": "{:.2f}",
    "labels": "{:.0f}",
}
DEFAULT_FORMAT = "{:.3f}"


def markdown_table(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """A GitHub Markdown table of ``rows`` (dicts) restricted to ``columns``."""
    header = [ARROWS.get(c, c) for c in columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [_format(column, row.get(column, "")) for column in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(
    rows: Sequence[dict], columns: Sequence[str], stem: Path, title: str, notes: str = ""
) -> str:
    """Write ``<stem>.md`` (title, table, notes) and ``<stem>.csv``; return the Markdown.

    If the files cannot be written the Markdown is printed first, so no result is lost.
    """
    check_finite(rows, columns, title)
    text = f"### {title}\n\n{markdown_table(rows, columns)}\n"
    if notes:
        text += f"\n{notes}\n"
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
        with_suffix(stem, ".md").write_text(text)
        with with_suffix(stem, ".csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    except OSError as error:
        print(text)
        raise ConfigError(
            f"{error.filename or stem}: cannot write the report ({error.strerror}); "
            "its table is printed above"
        ) from None
    return text


def check_finite(rows: Sequence[dict], columns: Sequence[str], title: str) -> None:
    """Refuse a table with an infinite or NaN score: it measures nothing."""
    for row in rows:
        for column in columns:
            value = row.get(column)
            if isinstance(value, float) and not math.isfinite(value):
                raise DataError(
                    f"{title}: {column} of '{row.get(columns[0])}' is {value}, so the scores are "
                    "degenerate (outputs equal to a constant or saturated truth?); no table written"
                )


def with_suffix(stem: Path, suffix: str) -> Path:
    """``stem`` + ``suffix``, keeping dots inside the stem (``brighter2.5mag``)."""
    return stem.parent / f"{stem.name}{suffix}"


def half_range(values: Sequence[float]) -> float:
    """Half the range of ``values``: the ``±`` of a mean over a few seeds."""
    return (max(values) - min(values)) / 2


def with_spread(column: str, mean: float, spread: float | None) -> str:
    """``mean ± spread`` formatted as ``column``'s values are (just the mean without a spread)."""
    text = _format(column, mean)
    return text if spread is None else f"{text} ± {_format(column, spread)}"


def _format(column: str, value: object) -> str:
    if isinstance(value, float):
        measure = column.rsplit("_", 1)[-1]  # deconv_psnr, full_psnr: formatted as psnr
        return FORMATS.get(column, FORMATS.get(measure, DEFAULT_FORMAT)).format(value)
    return str(value)
