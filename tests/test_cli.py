"""The galvision command on a tiny config: fit, test, predict, resume and bad input."""

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from astropy.io import fits

from galvision.cli import main
from helpers.training import config_args, logged, predict_folder, write_observed_fits


def fit(root: Path, *extra: str) -> Path:
    main(["fit", *config_args("deconv"), "--trainer.default_root_dir", str(root), *extra])
    return root / "checkpoints" / "last.ckpt"


@pytest.fixture
def trained(tiny_run) -> Path:
    return tiny_run


def test_fit_writes_checkpoint_config_and_logs(trained):
    assert (trained / "checkpoints" / "last.ckpt").is_file()
    assert (trained / "logs" / "version_0" / "config.yaml").is_file()
    assert len(logged(trained, "train/loss_step")) == 4
    psnr = logged(trained, "val/psnr")
    assert psnr and all(np.isfinite(psnr))


def test_test_reports_image_metrics(trained, tmp_path):
    main(
        [
            "test",
            *config_args("deconv"),
            "--trainer.default_root_dir",
            str(tmp_path),
            "--ckpt_path",
            str(trained / "checkpoints" / "last.ckpt"),
        ]
    )
    mse, psnr = logged(tmp_path, "test/mse")[0], logged(tmp_path, "test/psnr")[0]
    assert psnr == pytest.approx(-10 * math.log10(mse), abs=1e-3)  # data range 1
    assert logged(tmp_path, "test/ssim")


def predict(trained: Path, out: Path, folder: Path) -> None:
    predict_folder("deconv", trained / "checkpoints" / "last.ckpt", out, folder)


def test_predict_restores_a_folder_of_fits(trained, tmp_path):
    write_observed_fits(tmp_path / "observed", 3)
    predict(trained, tmp_path / "out", tmp_path / "observed")
    restored = sorted((tmp_path / "out" / "restored").glob("*_restored.fits"))
    previews = sorted((tmp_path / "out" / "restored").glob("*_preview.png"))
    assert [p.name for p in restored] == [f"galaxy{i}_restored.fits" for i in range(3)]
    assert len(previews) == 3
    data = fits.getdata(restored[0])
    assert data.shape == (3, 32, 32) and np.isfinite(data).all()


def test_predict_refuses_nan_pixels_naming_the_file(trained, tmp_path):
    write_observed_fits(tmp_path / "observed", 1)
    path = tmp_path / "observed" / "galaxy0.fits"
    data = fits.getdata(path)
    data[0, 3, 4] = np.nan
    fits.writeto(path, data, fits.getheader(path), overwrite=True)
    with pytest.raises(SystemExit, match=r"galaxy0\.fits.*NaN"):
        predict(trained, tmp_path / "out", tmp_path / "observed")


def test_interrupted_fit_resumes_from_last(tmp_path):
    fit(tmp_path, "--trainer.max_steps", "2")
    fit(tmp_path, "--trainer.max_steps", "4", "--ckpt_path", "last")
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["global_step"] == 4
    with (tmp_path / "logs" / "version_1" / "metrics.csv").open() as handle:
        steps = [int(r["step"]) for r in csv.DictReader(handle) if r.get("train/loss_step")]
    assert steps and min(steps) >= 2


@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_resumed_fit_ends_with_the_weights_of_an_uninterrupted_one(tmp_path, workers):
    # The schedule's length is fixed, as it is for a run stopped by a fault, not by max_steps.
    loaders = (
        "--data.init_args.num_workers", workers,
        "--model.init_args.lr_scheduler.init_args.total_steps", "4",
    )  # fmt: skip
    whole = fit(tmp_path / "whole", "--trainer.max_steps", "4", *loaders)
    fit(tmp_path / "stopped", "--trainer.max_steps", "2", *loaders)  # mid-epoch: 4 steps each
    resumed = fit(tmp_path / "stopped", "--trainer.max_steps", "4", "--ckpt_path", "last", *loaders)
    whole, resumed = (torch.load(p, weights_only=False)["state_dict"] for p in (whole, resumed))
    assert whole.keys() == resumed.keys()
    for name, weights in whole.items():
        torch.testing.assert_close(resumed[name], weights, rtol=0, atol=0, msg=name)


def test_print_config_shows_the_resolved_interpolations(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "fit",
                *config_args("deconv"),
                "--trainer.default_root_dir",
                str(tmp_path),
                "--print_config",
            ]
        )
    assert exit_info.value.code == 0
    assert f"dirpath: {tmp_path}/checkpoints" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--model.init_args.los", "l1"], "model: Option 'los' is not accepted"),
        (["--trainer.max_stepz", "3"], "max_stepz"),
        (
            ["--model.init_args.backbone.init_args.in_chans", "1"],
            "data has 3 band(s) but model.backbone.in_chans=1",
        ),
        (
            ["--model.init_args.backbone.init_args.img_size", "36"],
            "img_size=36 is not divisible by patch_size=8",
        ),
        (["--ckpt_path", "missing/nothing.ckpt"], "no such checkpoint file missing/nothing.ckpt"),
    ],
)
def test_bad_input_gives_one_line_naming_the_culprit(arguments, message, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        fit(tmp_path, *arguments)
    text = str(exit_info.value.code)
    assert message in text
    assert "\n" not in text


def test_bf16_mixed_precision_path_runs_on_cpu(tmp_path):
    """The GPU config's bf16 autocast path, exercised on the CPU."""
    fit(tmp_path, "--trainer.precision", "bf16-mixed", "--trainer.max_steps", "2")
    losses = logged(tmp_path, "train/loss_step")
    assert len(losses) == 2 and all(np.isfinite(losses))


@pytest.mark.parametrize("fragment", ["cpu", "gpu", "ddp"])
def test_trainer_fragments_compose_with_the_task(fragment, capsys):
    repo = Path(__file__).resolve().parents[1]
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "fit",
                "--config",
                str(repo / "tasks" / "deconv.yaml"),
                "--config",
                str(repo / "configs" / "trainer" / f"{fragment}.yaml"),
                "--model.init_args.backbone",
                str(repo / "configs" / "backbone" / "vit_small.yaml"),
                "--print_config",
            ]
        )
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    expected = {"cpu": "accelerator: cpu", "gpu": "precision: bf16-mixed", "ddp": "strategy: ddp"}
    assert expected[fragment] in printed
    assert "name: vit_small_patch16_224" in printed
