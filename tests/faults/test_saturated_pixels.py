"""Images far beyond the display range are refused with the fraction beyond it; no inf scores."""

import logging
import math

import numpy as np
import pytest
from astropy.io import fits

from faults.refusal import refusal
from galvision.benchmark.report import write_report
from galvision.data.csv_catalogues import FitsCatalogueDataset
from galvision.data.observed import ObservedImagesDataset
from galvision.errors import DataError
from helpers.training import predict_folder, write_observed_fits


def saturate(path, fraction: float, value: float = 1e30) -> None:
    """Set the first ``fraction`` of the pixels of a FITS file to ``value``."""
    data = fits.getdata(path)
    data.reshape(-1)[: round(fraction * data.size)] = value
    fits.writeto(path, data, fits.getheader(path), overwrite=True)


def test_predict_refuses_an_image_beyond_the_display_range(tiny_run, tmp_path):
    write_observed_fits(tmp_path / "observed", 2)
    saturate(tmp_path / "observed" / "galaxy1.fits", 1.0)
    with pytest.raises(SystemExit) as exit_info:
        predict_folder(
            "deconv",
            tiny_run / "checkpoints" / "last.ckpt",
            tmp_path / "out",
            tmp_path / "observed",
        )
    message = str(exit_info.value.code)
    assert "galaxy1.fits: 100.0% of pixels are beyond ±100 nanomaggies" in message
    assert not (tmp_path / "out" / "restored").exists()


def test_a_few_pixels_beyond_the_range_are_warned_about(tmp_path, caplog):
    write_observed_fits(tmp_path / "observed", 1)
    saturate(tmp_path / "observed" / "galaxy0.fits", 0.05, value=-500.0)
    with caplog.at_level(logging.WARNING):
        ObservedImagesDataset(tmp_path / "observed", bands=3, size=32)
    assert "galaxy0.fits: 5.0% of pixels are beyond ±100 nanomaggies" in caplog.text


def test_training_catalogue_in_other_units_is_refused(tmp_path):
    write_observed_fits(tmp_path / "cutouts", 1)
    saturate(tmp_path / "cutouts" / "galaxy0.fits", 0.5, value=3e4)
    (tmp_path / "cat.csv").write_text("path,label\ncutouts/galaxy0.fits,0\n")
    with pytest.raises(DataError, match=r"cat\.csv line 2: .*galaxy0\.fits: 50\.0% of pixels"):
        FitsCatalogueDataset(tmp_path / "cat.csv", size=32, bands=3)


def test_benchmark_refuses_a_saturated_truth(tiny_run, tmp_path):
    truth = tmp_path / "truth"
    truth.mkdir()
    fits.writeto(truth / "huge.fits", np.full((40, 40), 1e30, np.float32))
    ckpt = str(tiny_run / "checkpoints" / "last.ckpt")
    arguments = ["benchmark", "deconv", "--ckpt", ckpt, "--truth", str(truth)]
    message = refusal([*arguments, "--output", str(tmp_path / "out")])
    assert f"{truth / 'huge.fits'}: 100.0% of pixels are beyond" in message
    assert not (tmp_path / "out").exists()


def test_a_benchmark_table_never_shows_inf(tmp_path, capsys):
    rows = [{"method": "Wiener", "psnr": math.inf}, {"method": "galvision", "psnr": 30.0}]
    with pytest.raises(DataError, match="psnr of 'Wiener' is inf"):
        write_report(rows, ["method", "psnr"], tmp_path / "table", "Deconvolution")
    assert not list(tmp_path.iterdir()) and "inf" not in capsys.readouterr().out
