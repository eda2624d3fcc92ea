"""Paired comparisons over seeds: two rows trained from the same seed, compared seed by seed.

A seed fixes a run's head initialisation and data order, and these move every row trained from
it together: the spread of each row over seeds then hides differences that every seed shows.
The difference of two rows taken within each seed cancels what the seed shares.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from galvision.benchmark.report import half_range, with_spread


@dataclass(frozen=True)
class Difference:
    """One column's per-seed differences ``a - b``: their mean, half their range, the seeds with
    ``a`` ahead, and the seeds compared."""

    mean: float
    spread: float
    ahead: int
    seeds: int

    def text(self, column: str) -> str:
        """``+0.41 ± 0.12 (4/4)``: mean ± half the range, and the seeds ``a`` leads in."""
        sign = "+" if self.mean >= 0 else ""
        return f"{sign}{with_spread(column, self.mean, self.spread)} ({self.ahead}/{self.seeds})"


def paired_difference(
    a: Sequence[Mapping[str, float]], b: Sequence[Mapping[str, float]], column: str
) -> Difference | None:
    """``column`` of ``a`` minus ``b``, seed by seed (the lists in seed order); None where a seed
    lacks it."""
    if len(a) != len(b) or not a or any(column not in s for s in (*a, *b)):
        return None
    differences = [x[column] - y[column] for x, y in zip(a, b, strict=True)]
    return Difference(
        mean=statistics.fmean(differences),
        spread=half_range(differences),
        ahead=sum(d > 0 for d in differences),
        seeds=len(differences),
    )


def paired_rows(
    by_seed: Mapping[str, Sequence[Mapping[str, float]]],
    pairs: Sequence[tuple[str, str]],
    labels: Mapping[str, str],
    columns: Sequence[str],
) -> list[dict[str, str]]:
    """A table row for each pair ``(a, b)`` whose rows were both trained: ``a - b`` per column."""
    rows = []
    for a, b in pairs:
        if a not in by_seed or b not in by_seed:
            continue
        row = {"comparison": f"{labels[a]} - {labels[b]}"}
        for column in columns:
            found = paired_difference(by_seed[a], by_seed[b], column)
            if found is not None:
                row[column] = found.text(column)
        rows.append(row)
    return rows
