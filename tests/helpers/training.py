"""Small shared test routines: optimiser steps, CSV tables, observed files, predict runs."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from galvision.cli import main
from galvision.tasks import GalaxyTask

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "tests" / "conf"
DRAWN = REPO / "configs" / "overlays" / "multitask_drawn.yaml"  # one task drawn each step


def task_config(name: str) -> list[Path]:
    """The shipped ``tasks/<name>.yaml`` with its tiny overlay ``tests/conf/<name>.yaml``."""
    return [REPO / "tasks" / f"{name}.yaml", CONF / f"{name}.yaml"]


def config_args(name: str) -> list[str]:
    """``--config`` arguments of the tiny version of a shipped task."""
    return [argument for path in task_config(name) for argument in ("--config", str(path))]


def losses_over_steps(
    task: GalaxyTask, batch: dict, steps: int = 15, stage: str | None = None
) -> list[float]:
    """Train ``task`` on one fixed batch for ``steps`` steps and return the losses.

    With ``stage``, the batch goes through the task's ``prepare`` for it afresh at every step.
    """
    optimizer = task.configure_optimizers()
    losses = []
    for _ in range(steps):
        prepared = batch if stage is None else task.prepare(batch, stage)
        loss = task.compute(prepared)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def csv_rows(path: Path) -> list[dict]:
    """The rows of a CSV file as dicts."""
    with path.open() as handle:
        return list(csv.DictReader(handle))


def write_observed_fits(folder: Path, count: int, fwhm: float | None = 1.2) -> None:
    """``count`` noise-only 3-band 32×32 FITS cutouts ``galaxy<i>.fits``, PSF_FWHM in the header."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    header = fits.Header({"PSF_FWHM": fwhm} if fwhm else {})
    for i in range(count):
        image = rng.normal(0, 0.01, (3, 32, 32)).astype(np.float32)
        fits.PrimaryHDU(image, header).writeto(folder / f"galaxy{i}.fits")


def predict_folder(name: str, ckpt: Path, out: Path, folder: Path, *extra: str) -> None:
    """`galvision predict` of the tiny ``name`` task's checkpoint on 32×32 observed images."""
    main(
        [
            "predict",
            *config_args(name),
            "--trainer.default_root_dir",
            str(out),
            "--ckpt_path",
            str(ckpt),
            "--data",
            "galvision.data.observed.ObservedImagesDataModule",
            "--data.path",
            str(folder),
            "--data.size",
            "32",
            *extra,
        ]
    )


def fit_tiny(
    tmp_path_factory: pytest.TempPathFactory, task: str, name: str, verb: str = "fit", *extra: str
) -> Path:
    """Run folder of `galvision <verb>` on a tiny shipped task, simulating into the test cache."""
    root = tmp_path_factory.mktemp(name)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GALVISION_CACHE", str(tmp_path_factory.getbasetemp() / "galvision-cache"))
        main([verb, *config_args(task), "--trainer.default_root_dir", str(root), *extra])
    return root


def logged(root: Path, key: str) -> list[float]:
    """Every value of ``key`` in the CSV logs of a run folder, in order."""
    values = []
    for path in sorted(root.glob("logs/version_*/metrics.csv")):
        with path.open() as handle:
            values += [float(r[key]) for r in csv.DictReader(handle) if r.get(key)]
    return values


def two_process_fit(
    name: str, root: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``galvision fit`` of the tiny ``name`` task in two CPU processes (DDP on gloo)."""
    tests = str(Path(__file__).resolve().parents[1])
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join([tests, environment.get("PYTHONPATH", "")])
    command = [
        sys.executable,
        "-m",
        "galvision",
        "fit",
        *config_args(name),
        "--trainer.default_root_dir",
        str(root),
        "--trainer.accelerator",
        "cpu",
        "--trainer.devices",
        "2",
        "--trainer.strategy",
        "ddp",
        *extra,
    ]
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600)
