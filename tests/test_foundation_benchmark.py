"""`galvision benchmark foundation`: frozen and fine-tuned columns per row, runs read back."""

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from faults.refusal import refusal
from galvision.backbones import Backbone
from galvision.backbones.export import export_backbone
from galvision.benchmark.foundation import WEIGHTS
from galvision.cli import main
from helpers.catalogues import write_gz1
from helpers.training import csv_rows, task_config

FROZEN = ["sim_linear", "sim_knn"]
GZ1 = [f"gz1_{n}_{m}" for n in ("10", "all") for m in ("accuracy", "f1_macro", "auroc_spiral")]
TUNED = {"deconv": "deconv_psnr", "reconstruct": "reconstruct_psnr", "lens": "lens_auroc"}
LOGGED = {"deconv": "test/psnr", "reconstruct": "test/psnr", "lens": "test/auroc"}


def benchmark_args(output: Path, foundations: list[str], *extra: str) -> list[str]:
    """The benchmark on the tiny task configs, 2 steps per fine-tune."""
    configs = [
        argument
        for task in ("classify", "classify_gz1", "deconv", "reconstruct", "lens")
        for argument in (
            "--real-config" if task == "classify_gz1" else f"--{task}-config",
            *map(str, task_config(task)),
        )
    ]
    return [
        "benchmark", "foundation", "--foundation", *foundations, *configs,
        "--steps", "2", "--output", str(output), *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def full_run(tiny_mae: Path, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Output folder, table and report of the benchmark with every task and GZ1."""
    root = tmp_path_factory.mktemp("foundation-benchmark")
    real = write_gz1(root / "gz1.h5", per_class=24)  # at least 10 training labels per class
    out = root / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GALVISION_CACHE", str(tmp_path_factory.getbasetemp() / "galvision-cache"))
        main(benchmark_args(out, [f"mae={tiny_mae}"], "--real", str(real)))
    return SimpleNamespace(
        out=out, rows=csv_rows(out / "foundation.csv"), report=(out / "foundation.md").read_text()
    )


def test_rows_hold_frozen_and_fine_tuned_scores_of_each_foundation(full_run, tiny_mae):
    rows = full_run.rows
    assert [row["foundation"] for row in rows] == ["random init", "mae"]
    assert list(rows[0]) == ["foundation", *FROZEN, *GZ1, *TUNED.values()]
    for row in rows:
        assert all(math.isfinite(float(value)) for value in list(row.values())[1:])
        # 8 simulated test galaxies: accuracies are counts of right answers.
        for key in FROZEN:
            assert 8 * float(row[key]) == pytest.approx(round(8 * float(row[key])), abs=1e-4)
    # Every fine-tuned cell is the test metric of its own run, started from the row's weights.
    for task, column in TUNED.items():
        for row, name in zip(rows, ("random", "mae"), strict=True):
            result = json.loads(
                (full_run.out / "foundation" / task / name / "result.json").read_text()
            )
            assert float(row[column]) == pytest.approx(result["metrics"][LOGGED[task]])
            arguments = result["arguments"]
            if name == "mae":
                assert arguments[arguments.index(WEIGHTS) + 1] == str(tiny_mae)
            else:
                assert WEIGHTS not in arguments
    assert rows[0]["deconv_psnr"] != rows[1]["deconv_psnr"]
    assert full_run.report.startswith(
        "### Foundation: frozen features and fine-tuning at equal budget"
    )
    picture = full_run.out / "foundation_embeddings.png"
    assert f"mae = {tiny_mae}" in full_run.report and str(picture) in full_run.report
    assert "2 steps from seed 0" in full_run.report
    assert picture.stat().st_size > 10_000


def test_tasks_choose_the_fine_tuned_columns_and_finished_runs_are_read_back(full_run, tiny_mae):
    results = [
        full_run.out / "foundation" / "deconv" / name / "result.json" for name in ("random", "mae")
    ]
    written = [path.stat().st_mtime_ns for path in results]
    main(benchmark_args(full_run.out, [f"mae={tiny_mae}"], "--tasks", "deconv"))
    rows = csv_rows(full_run.out / "foundation.csv")
    assert list(rows[0]) == ["foundation", *FROZEN, "deconv_psnr"]
    for row, full in zip(rows, full_run.rows, strict=True):
        assert {key: row[key] for key in row} == {key: full[key] for key in row}
    assert [path.stat().st_mtime_ns for path in results] == written


def test_a_bad_source_is_refused_in_one_line_before_any_training(
    tiny_run, tiny_backbone_kwargs, tmp_path
):
    out = tmp_path / "out"
    missing = tmp_path / "none.ckpt"
    deconv = f"deconv={tiny_run / 'checkpoints' / 'last.ckpt'}"  # any task's checkpoint is a source
    wide = export_backbone(
        Backbone(
            **tiny_backbone_kwargs | {"model_kwargs": {"depth": 2, "embed_dim": 64, "num_heads": 2}}
        ),
        tmp_path / "wide",
    )
    cases = {
        f"--foundation bad={missing}: backbone weights: {missing} is neither": [
            deconv,
            f"bad={missing}",
        ],
        f"--foundation wide={wide} with --deconv-config": [deconv, f"wide={wide}"],
        "--foundation mae: expected NAME=SOURCE": ["mae"],
        "--foundation random=foundation: the name 'random' is already a row": ["random=foundation"],
    }
    for expected, foundations in cases.items():
        assert expected in refusal(benchmark_args(out, foundations))
    assert not out.exists()
