"""Small shared test routines: a few optimiser steps, CSV tables."""

import csv
from pathlib import Path

from galvision.tasks import GalaxyTask


def losses_over_steps(task: GalaxyTask, batch: dict, steps: int = 15) -> list[float]:
    """Train ``task`` on one fixed batch for ``steps`` steps and return the losses."""
    optimizer = task.configure_optimizers()
    losses = []
    for _ in range(steps):
        loss = task.compute(batch)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def csv_rows(path: Path) -> list[dict]:
    """The rows of a CSV file as dicts."""
    with path.open() as handle:
        return list(csv.DictReader(handle))
