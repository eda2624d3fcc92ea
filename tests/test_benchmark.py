"""`galvision benchmark deconv` on the tiny run: the table, its files and the image grid."""

import numpy as np
import pytest
from astropy.io import fits

from galvision.cli import main
from helpers.training import csv_rows

METHODS = [
    "blurred input",
    "Wiener (scikit-image, true PSF)",
    "Richardson–Lucy (scikit-image, true PSF)",
    "galvision DeconvolutionTask",
]


def test_benchmark_on_the_simulated_test_set(tiny_run, tmp_path, capsys):
    main(
        [
            "benchmark",
            "deconv",
            "--ckpt",
            str(tiny_run / "checkpoints" / "last.ckpt"),
            "--output",
            str(tmp_path),
            "--tune-images",
            "4",
        ]
    )
    table = csv_rows(tmp_path / "deconv_simulated.csv")
    assert [r["method"] for r in table] == METHODS
    psnr = [float(r["psnr"]) for r in table]
    ssim = [float(r["ssim"]) for r in table]
    assert all(np.isfinite(psnr)) and all(0 < s <= 1 for s in ssim)
    assert len(set(psnr)) == 4  # every method is measured on its own output
    assert table[2]["setting"].startswith("iterations ")
    assert (tmp_path / "deconv_simulated.png").stat().st_size > 1000
    assert "| PSNR ↑ |" in capsys.readouterr().out


def test_benchmark_on_user_truth_images(tiny_run, tmp_path):
    truth = tmp_path / "truth"
    truth.mkdir()
    yy, xx = np.mgrid[:40, :40] - 20
    for i, width in enumerate([1.5, 2.5, 3.5]):
        galaxy = 5.0 * np.exp(-(xx**2 + yy**2) / (2 * width**2))
        fits.writeto(truth / f"g{i}.fits", galaxy.astype(np.float32))
    ckpt = str(tiny_run / "checkpoints" / "last.ckpt")
    common = ["benchmark", "deconv", "--ckpt", ckpt, "--truth", str(truth), "--tune-images", "4"]
    main([*common, "--output", str(tmp_path / "out")])
    main([*common, "--output", str(tmp_path / "out"), "--brighten", "2.5"])
    faint = csv_rows(tmp_path / "out" / "deconv_truth.csv")
    bright = csv_rows(tmp_path / "out" / "deconv_truth_brighter2.5mag.csv")
    assert [r["method"] for r in faint] == [r["method"] for r in bright] == METHODS
    assert "(3)" in (tmp_path / "out" / "deconv_truth.md").read_text()
    assert float(bright[0]["mse"]) != float(faint[0]["mse"])
    # Pixels whose unit is AB magnitude 20 are 10 nanomaggies: 2.5 magnitudes brighter.
    main([*common, "--output", str(tmp_path / "zp"), "--truth-zero-point", "20"])
    counts = csv_rows(tmp_path / "zp" / "deconv_truth.csv")
    assert [r["mse"] for r in counts] == [r["mse"] for r in bright]
    with pytest.raises(SystemExit, match=r"--truth-flux-scale=-1\.0 must be positive"):
        main([*common, "--output", str(tmp_path / "zp"), "--truth-flux-scale", "-1"])


def test_benchmark_compares_named_checkpoints_on_the_same_observations(tiny_run, tmp_path):
    ckpt = str(tiny_run / "checkpoints" / "last.ckpt")
    args = ["benchmark", "deconv", "--tune-images", "4", "--output", str(tmp_path)]
    main([*args, "--guard", "2", "--ckpt", f"first={ckpt}", f"again={ckpt}"])
    table = csv_rows(tmp_path / "deconv_simulated.csv")
    guarded = "{} + consistency guard"
    methods = [*METHODS[:3], "first", guarded.format("first"), "again", guarded.format("again")]
    assert [r["method"] for r in table] == methods
    assert table[3]["psnr"] == table[5]["psnr"]  # same weights, same observations
    assert table[4]["setting"].startswith("RL where χ² > 2× RL's: ")
    assert all(float(r["colour_mae"]) >= 0 for r in table)
    main([*args, "--ckpt", ckpt])
    single = csv_rows(tmp_path / "deconv_simulated.csv")
    assert single[3]["psnr"] == table[3]["psnr"] and single[3]["method"] == METHODS[3]
    with pytest.raises(SystemExit, match="--ckpt a=y: the name 'a' is already a row"):
        main([*args, "--ckpt", "a=x", "a=y"])


def test_benchmark_refuses_a_missing_checkpoint(tmp_path):
    with pytest.raises(SystemExit, match="no such checkpoint file"):
        main(["benchmark", "deconv", "--ckpt", str(tmp_path / "none.ckpt")])
