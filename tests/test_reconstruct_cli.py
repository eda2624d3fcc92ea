"""`galvision fit`, `predict` and `benchmark reconstruct` on the tiny reconstruction config."""

from pathlib import Path

import numpy as np
import pytest
import torch
from astropy.io import fits

from galvision.benchmark.reconstruction import (
    MAE_LABEL,
    mae_skip_reason,
    pretrained_reconstruction,
)
from galvision.cli import main
from galvision.transforms import MaskGenerator
from helpers.training import csv_rows, fit_tiny, predict_folder, write_observed_fits

METHODS = [
    "masked input (masked pixels = 0)",
    "biharmonic inpainting (scikit-image)",
    "fine-tuned ReconstructionTask",
    "oracle: noise-free observation in masked pixels",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fit_tiny(tmp_path_factory, "reconstruct", "reconstruct-run")


def test_fit_writes_a_checkpoint_and_whole_image_metrics(run):
    assert (run / "checkpoints" / "last.ckpt").is_file()
    metrics = csv_rows(next(run.glob("logs/version_*/metrics.csv")))
    psnr = [float(r["val/psnr"]) for r in metrics if r.get("val/psnr")]
    assert len(psnr) == 2 and all(10 < p < 60 for p in psnr)


def test_benchmark_scores_every_method_on_the_same_masks(run, tmp_path, capsys):
    ckpt = str(run / "checkpoints" / "last.ckpt")
    main(["benchmark", "reconstruct", "--ckpt", ckpt, "--images", "3", "--output", str(tmp_path)])
    table = csv_rows(tmp_path / "reconstruct_patches50.csv")
    assert [r["method"] for r in table] == METHODS
    psnr = [float(r["psnr"]) for r in table]
    assert all(np.isfinite(psnr)) and len(set(psnr)) == 4
    assert psnr[3] > max(psnr[:3])  # no method knows the noise-free pixels
    assert float(table[1]["seconds"]) > 0
    assert (tmp_path / "reconstruct_patches50.png").stat().st_size > 1000
    out = capsys.readouterr().out
    assert "(3 galaxies, patches masks, 50.0% of pixels masked)" in out


def test_benchmark_refuses_a_fraction_of_one(run, tmp_path):
    ckpt = str(run / "checkpoints" / "last.ckpt")
    with pytest.raises(SystemExit, match=r"fraction 1\.0 is outside \[0, 1\)"):
        main(["benchmark", "reconstruct", "--ckpt", ckpt, "--fraction", "1.0"])


class EchoMAE:
    """Stands in for an MAE: predicts 7 everywhere and remembers the visible patches."""

    def reconstruct(self, image: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        self.visible = visible
        return torch.full_like(image, 7.0)


def test_the_mae_is_given_exactly_the_visible_patches():
    mask = torch.zeros(2, 1, 16, 16)
    mask[0, :, :8, 8:] = 1  # patch 1 of the 2×2 grid
    mask[1, :, 8:, :8] = 1  # patch 2
    image = torch.rand(2, 3, 16, 16)
    mae = EchoMAE()
    out = pretrained_reconstruction(mae, image, mask, patch_size=8)
    assert mae.visible.tolist() == [[0, 2, 3], [0, 1, 3]]
    assert (out[0, :, :8, 8:] == 7).all() and torch.equal(out[0, :, 8:], image[0, :, 8:])


def test_the_mae_row_is_only_for_patch_masks():
    mae = type("MAE", (), {"backbone": type("B", (), {"patch_size": 8})})()
    assert mae_skip_reason(mae, "patches", 8) is None
    assert "do not hide whole patches" in mae_skip_reason(mae, "trails", 8)
    assert "its patches are 8 px" in mae_skip_reason(mae, "patches", 4)


@pytest.fixture
def mae(tiny_mae: Path) -> Path:
    """The tiny MAE checkpoint."""
    return tiny_mae


@pytest.mark.parametrize("kind", ["patches", "trails"])
def test_benchmark_scores_the_pretrained_mae_on_patch_masks_only(run, mae, kind, tmp_path):
    ckpt = str(run / "checkpoints" / "last.ckpt")
    arguments = ["--kind", kind, "--images", "2", "--output", str(tmp_path)]
    main(["benchmark", "reconstruct", "--ckpt", ckpt, "--pretrained", str(mae), *arguments])
    table = csv_rows(tmp_path / f"reconstruct_{kind}50.csv")
    methods = [r["method"] for r in table]
    report = (tmp_path / f"reconstruct_{kind}50.md").read_text()
    if kind == "patches":
        assert methods == [*METHODS[:2], MAE_LABEL, *METHODS[2:]]
        assert np.isfinite(float(table[2]["psnr"]))
    else:
        assert methods == METHODS
        assert "trails masks do not hide whole patches" in report


def test_predict_fills_masks_of_real_images(run, tmp_path):
    folder = tmp_path / "observed"
    write_observed_fits(folder, 2, fwhm=None)
    out = tmp_path / "out"
    ckpt = run / "checkpoints" / "last.ckpt"
    predict_folder("reconstruct", ckpt, out, folder, "--data.psf_fwhm", "1.2")
    # The masks of tests/conf/reconstruct.yaml, fixed by each image's index.
    kinds = dict.fromkeys(("patches", "pixels", "trails", "columns", "saturation"), 1.0)
    masks = MaskGenerator(kinds, (0.1, 0.6)).for_indices(torch.arange(2), 32, 32, "cpu")
    for i in range(2):
        observed = fits.getdata(folder / f"galaxy{i}.fits")
        restored = fits.getdata(out / "restored" / f"galaxy{i}_restored.fits")
        hidden = masks[i].bool().expand(3, -1, -1).numpy()
        assert restored.shape == observed.shape and hidden.any() and (~hidden).any()
        # Visible pixels come back as they were; hidden ones are the model's guesses.
        np.testing.assert_allclose(restored[~hidden], observed[~hidden], rtol=1e-4, atol=1e-6)
        assert np.abs(restored[hidden] - observed[hidden]).mean() > 1e-4
    assert (out / "restored" / "galaxy0_preview.png").is_file()
