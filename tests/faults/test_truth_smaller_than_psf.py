"""Truth images smaller than the PSF footprint are refused; smaller than a stamp, warned about."""

import logging

import numpy as np
from astropy.io import fits
from PIL import Image

from faults.refusal import refusal
from galvision.data.real_truth import load_truth


def test_benchmark_refuses_a_truth_smaller_than_the_psf(tiny_run, tmp_path):
    truth = tmp_path / "truth"
    truth.mkdir()
    Image.fromarray(np.full((1, 1, 3), 128, np.uint8)).save(truth / "dot.png")
    ckpt = str(tiny_run / "checkpoints" / "last.ckpt")
    arguments = ["benchmark", "deconv", "--ckpt", ckpt, "--truth", str(truth)]
    message = refusal([*arguments, "--output", str(tmp_path / "out")])
    assert f"{truth / 'dot.png'}: 1×1 pixels, smaller than the 15×15 PSF footprint" in message


def test_a_truth_smaller_than_the_stamp_is_padded_with_a_warning(tmp_path, caplog):
    fits.writeto(tmp_path / "small.fits", np.ones((20, 20), np.float32))
    with caplog.at_level(logging.WARNING):
        clean, _ = load_truth(tmp_path / "small.fits", bands=1, size=32, min_size=15)
    assert clean.shape == (1, 1, 32, 32) and clean[0, 0, 0, 0] == 0 and clean[0, 0, 16, 16] == 1
    assert "1 truth image(s) smaller than 32 px zero-padded" in caplog.text
