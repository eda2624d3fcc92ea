"""The restored-image writer: FITS, HDF5 and previews from a fake predicted batch."""

import re
from pathlib import Path
from unittest.mock import MagicMock

import h5py
import numpy as np
import pytest
import torch
from astropy.io import fits
from astropy.wcs import WCS
from PIL import Image

from galvision.callbacks import DetectionWriter, RestoredImageWriter
from galvision.data.intensity import to_flux
from galvision.data.keys import HEADER, IMAGE, NAME, PSF_FWHM
from galvision.data.observed import ObservedImagesDataModule
from galvision.errors import ConfigError

B, C, SIZE = 2, 3, 8


def fake_batch(seed: int, names: list[str]) -> tuple[dict, dict]:
    generator = torch.Generator().manual_seed(seed)
    image = torch.rand(B, C, SIZE, SIZE, generator=generator)
    restored = torch.rand(B, C, SIZE, SIZE, generator=generator)
    batch = {IMAGE: image, PSF_FWHM: torch.tensor([1.2, 0.8]), NAME: names}
    return {"restored": restored, NAME: names, IMAGE: image}, batch


def write(writer: RestoredImageWriter, prediction: dict, batch: dict, rank: int = 0) -> None:
    writer.write_on_batch_end(
        trainer=MagicMock(global_rank=rank),
        pl_module=None,
        prediction=prediction,
        batch_indices=None,
        batch=batch,
        batch_idx=0,
        dataloader_idx=0,
    )


def test_fits_hold_linear_flux_and_input_fwhm(tmp_path: Path) -> None:
    prediction, batch = fake_batch(0, ["ngc1", "ngc2"])
    write(RestoredImageWriter(str(tmp_path), preview=False), prediction, batch)
    expected = to_flux(prediction["restored"]).numpy()
    for i, name in enumerate(["ngc1", "ngc2"]):
        with fits.open(tmp_path / f"{name}_restored.fits") as hdus:
            assert hdus[0].data.dtype == np.dtype(">f4")
            np.testing.assert_allclose(hdus[0].data, expected[i], rtol=1e-5, atol=1e-7)
            header = hdus[0].header
            assert (header["BUNIT"], header["ORIGIN"]) == ("nanomaggy", "galvision")
            assert header["PSF_FWHM"] == pytest.approx([1.2, 0.8][i])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ngc1_restored.fits",
        "ngc2_restored.fits",
    ]


def test_preview_shows_input_then_restored_as_reversed_bands(tmp_path: Path) -> None:
    prediction, batch = fake_batch(1, ["a", "b"])
    write(RestoredImageWriter(str(tmp_path), preview=True), prediction, batch)
    preview = np.asarray(Image.open(tmp_path / "b_preview.png"))
    zoom = 256 // SIZE
    assert preview.shape == ((SIZE) * zoom, (2 * SIZE + 2) * zoom, 3)
    left, right = preview[0, 0], preview[0, (SIZE + 2) * zoom]
    expected_left = np.rint(prediction[IMAGE][1, [2, 1, 0], 0, 0].numpy() * 255)
    expected_right = np.rint(prediction["restored"][1, [2, 1, 0], 0, 0].numpy() * 255)
    np.testing.assert_array_equal(left, expected_left)
    np.testing.assert_array_equal(right, expected_right)


def test_names_are_sanitised_and_made_unique(tmp_path: Path) -> None:
    prediction, batch = fake_batch(2, ["NGC 4414", "../NGC 4414"])
    write(RestoredImageWriter(str(tmp_path), preview=False), prediction, batch)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["NGC_4414-2_restored.fits", "NGC_4414_restored.fits"]


def test_hdf5_appends_batches_into_one_file_per_rank(tmp_path: Path) -> None:
    writer = RestoredImageWriter(str(tmp_path), format="hdf5", preview=False)
    first, first_batch = fake_batch(3, ["a", "b"])
    second, second_batch = fake_batch(4, ["c", "d"])
    trainer = MagicMock(global_rank=1)
    writer.on_predict_start(trainer, None)
    write(writer, first, first_batch, rank=1)
    write(writer, second, second_batch, rank=1)
    writer.on_predict_end(trainer, None)
    assert [p.name for p in tmp_path.iterdir()] == ["restored-rank1.h5"]
    with h5py.File(tmp_path / "restored-rank1.h5", "r") as file:
        assert file["restored"].shape == (2 * B, C, SIZE, SIZE)
        assert [n.decode() for n in file["name"][()]] == ["a", "b", "c", "d"]
        expected = to_flux(torch.cat([first["restored"], second["restored"]])).numpy()
        np.testing.assert_allclose(file["restored"][()], expected, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(file["psf_fwhm"][()], [1.2, 0.8, 1.2, 0.8])


@pytest.mark.parametrize(
    ("writer", "option"),
    [
        (lambda: RestoredImageWriter(format="tiff"), "RestoredImageWriter.format"),
        (lambda: RestoredImageWriter(write_interval="never"), "RestoredImageWriter.write_interval"),
        (lambda: DetectionWriter(write_interval="never"), "DetectionWriter.write_interval"),
    ],
)
def test_unknown_writer_options_are_one_line(writer, option):
    with pytest.raises(ConfigError, match=rf"^{re.escape(option)} must be"):
        writer()


def observed_batch(folder: Path, size: int = 32) -> dict:
    """A predict batch read from one 3-band FITS file with a TAN WCS and an OBJECT card."""
    folder.mkdir()
    header = fits.Header(
        {
            "OBJECT": "NGC 4414",
            "CTYPE1": "RA---TAN",
            "CTYPE2": "DEC--TAN",
            "CRVAL1": 186.6,
            "CRVAL2": 31.2,
            "CRPIX1": 16.5,
            "CRPIX2": 12.0,
            "CD1_1": -7.3e-5,
            "CD1_2": 1e-6,
            "CD2_1": 2e-6,
            "CD2_2": 7.3e-5,
            "RADESYS": "ICRS",
        }
    )
    image = np.random.default_rng(0).normal(0, 0.01, (3, size, size)).astype(np.float32)
    fits.PrimaryHDU(image, header).writeto(folder / "ngc4414.fits")
    module = ObservedImagesDataModule(str(folder), psf_fwhm=1.2, size=size)
    return next(iter(module.predict_dataloader()))


def test_fits_keep_the_input_header_and_its_wcs(tmp_path: Path) -> None:
    batch = observed_batch(tmp_path / "in")
    source = WCS(fits.Header.fromstring(batch[HEADER][0]), naxis=2)
    write(
        RestoredImageWriter(str(tmp_path / "out"), preview=False), {"restored": batch[IMAGE]}, batch
    )
    with fits.open(tmp_path / "out" / "ngc4414_restored.fits") as hdus:
        header = hdus[0].header
        assert hdus[0].data.shape == (3, 32, 32)
    assert (header["OBJECT"], header["BUNIT"]) == ("NGC 4414", "nanomaggy")
    assert header["PSF_FWHM"] == pytest.approx(1.2)
    restored = WCS(header, naxis=2)
    pixels = np.array([[0.0, 0.0], [31.0, 5.0], [12.5, 30.0]])
    np.testing.assert_allclose(restored.wcs_pix2world(pixels, 0), source.wcs_pix2world(pixels, 0))


def test_resized_restorations_drop_the_wcs_and_say_so(tmp_path: Path) -> None:
    batch = observed_batch(tmp_path / "in")
    half = torch.nn.functional.avg_pool2d(batch[IMAGE], 2)
    write(RestoredImageWriter(str(tmp_path / "out"), preview=False), {"restored": half}, batch)
    header = fits.getheader(tmp_path / "out" / "ngc4414_restored.fits")
    assert header["OBJECT"] == "NGC 4414" and header["NAXIS1"] == 16
    assert not WCS(header).has_celestial
    assert not [key for key in header if key.startswith(("CRPIX", "CRVAL", "CD", "CTYPE", "RADE"))]
    assert "resampled from 32x32 to 16x16" in " ".join(header["HISTORY"])
