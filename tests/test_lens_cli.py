"""The galvision command on the tiny lens config: fit, test and predict with the box writer."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torchmetrics.functional.classification import binary_auroc

from galvision.cli import main
from galvision.data.lens_datamodule import LensFieldDataModule
from galvision.data.simulate import LensFieldConfig
from helpers.training import config_args, csv_rows, fit_tiny, logged

# The fields of tests/conf/lens.yaml.
TINY_FIELDS = {"n_fields": 12, "seed": 0, "field_size": 64, "max_galaxies": 3, "n_psfs": 4}
TINY_FIELDS |= {"psf_size": 15}


@pytest.fixture(scope="module")
def lens_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fit_tiny(tmp_path_factory, "lens", "lens-run")


def run(verb: str, root: Path, out: Path) -> None:
    ckpt = root / "checkpoints" / "last.ckpt"
    main(
        [
            verb,
            *config_args("lens"),
            "--trainer.default_root_dir",
            str(out),
            "--ckpt_path",
            str(ckpt),
        ]
    )


def test_fit_logs_box_metrics_and_checkpoints(lens_run: Path) -> None:
    assert (lens_run / "checkpoints" / "last.ckpt").is_file()
    assert len(logged(lens_run, "train/loss_step")) == 4
    for name in ("val/map_50", "val/map", "val/auroc", "val/recall@0.5", "val/precision@0.9"):
        values = logged(lens_run, name)
        assert values and all(np.isfinite(values)), name


def test_test_auroc_is_that_of_the_predicted_field_scores(lens_run: Path, tmp_path: Path) -> None:
    run("test", lens_run, tmp_path / "test")
    run("predict", lens_run, tmp_path / "predict")
    fields = json.loads((tmp_path / "predict" / "detections" / "detections-rank0.json").read_text())
    data = LensFieldDataModule(LensFieldConfig(**TINY_FIELDS), val_size=4, test_size=4)
    data.setup("test")
    test = data.datasets["test"]
    has_lens = torch.tensor([int(test.box_count[i] > 0) for i in test.indices])
    scores = torch.tensor([field["field_score"] for field in fields])
    expected = float(binary_auroc(scores, has_lens))
    assert logged(tmp_path / "test", "test/auroc")[0] == pytest.approx(expected, abs=1e-3)
    assert np.isfinite(logged(tmp_path / "test", "test/map_50")[0])


def test_predict_writes_tables_and_pictures(lens_run: Path, tmp_path: Path) -> None:
    run("predict", lens_run, tmp_path)
    folder = tmp_path / "detections"
    fields = json.loads((folder / "detections-rank0.json").read_text())
    assert len(fields) == 4  # the predict split is the test split
    rows = csv_rows(folder / "detections-rank0.csv")
    assert sum(len(f["boxes"]) for f in fields) == len(rows)
    assert all(float(r["score"]) >= 0.05 for r in rows)
    assert len(list(folder.glob("*_detections.png"))) == 4
