"""Reading and validating users' observed images."""

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from astropy.io import fits
from PIL import Image

from galvision.data.intensity import to_flux
from galvision.data.keys import IMAGE, INDEX, NAME, PSF_FWHM
from galvision.data.observed import (
    ObservedImagesDataModule,
    ObservedImagesDataset,
    iter_observed,
    read_observed,
)
from galvision.errors import DataError

SIZE = 8


def flux(bands: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(-2.0, 1.5, (bands, SIZE, SIZE)).astype(np.float32)


def write_fits(path: Path, data: np.ndarray, **header: float) -> Path:
    hdu = fits.PrimaryHDU(data)
    hdu.header.update(header)
    hdu.writeto(path)
    return path


def test_fits_2d_is_one_band_with_seeing_from_header(tmp_path: Path) -> None:
    expected = flux(1)
    write_fits(tmp_path / "ngc1.fits", expected[0], SEEING=1.4)
    item = ObservedImagesDataset(tmp_path / "ngc1.fits", bands=1, size=SIZE)[0]
    assert item[IMAGE].shape == (1, SIZE, SIZE) and item[IMAGE].dtype == torch.float32
    np.testing.assert_allclose(to_flux(item[IMAGE]).numpy(), expected, rtol=1e-4, atol=1e-6)
    assert item[PSF_FWHM].item() == pytest.approx(1.4)
    assert item[NAME] == "ngc1" and item[INDEX] == 0


def test_fits_3d_bands_first_keyword_order_and_flux_scale(tmp_path: Path) -> None:
    expected = flux(3)
    write_fits(tmp_path / "g.fits", expected / 2, FWHM=9.0, PSF_FWHM=1.1)
    image, fwhm, name = read_observed(tmp_path / "g.fits", flux_scale=2.0)
    np.testing.assert_allclose(image, expected, rtol=1e-6)
    assert image.dtype == np.float32 and fwhm == pytest.approx(1.1) and name == "g"


def test_fits_image_in_extension_with_fwhm_in_primary_header(tmp_path: Path) -> None:
    expected = flux(3)
    primary = fits.PrimaryHDU()
    primary.header["PSFFWHM"] = 0.9
    fits.HDUList([primary, fits.ImageHDU(expected)]).writeto(tmp_path / "ext.fits")
    image, fwhm, _ = read_observed(tmp_path / "ext.fits")
    np.testing.assert_array_equal(image, expected)
    assert fwhm == pytest.approx(0.9)


def test_png_rgb_channels_are_reversed_bands_in_display_space(tmp_path: Path) -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "cutout.png")
    Image.fromarray(np.dstack([rgb, np.zeros_like(rgb[..., 0])])).save(tmp_path / "alpha.png")
    expected = to_flux(rgb[..., ::-1].transpose(2, 0, 1) / 255.0)
    for file in ("cutout.png", "alpha.png"):
        image, fwhm, _ = read_observed(tmp_path / file)
        assert image.shape == (3, SIZE, SIZE) and fwhm is None
        np.testing.assert_allclose(image, expected, rtol=1e-4, atol=1e-6)


def test_png_greyscale_is_one_band(tmp_path: Path) -> None:
    grey = np.arange(SIZE * SIZE, dtype=np.uint8).reshape(SIZE, SIZE) * 3
    Image.fromarray(grey).save(tmp_path / "grey.png")
    image, _, _ = read_observed(tmp_path / "grey.png")
    np.testing.assert_allclose(image, to_flux(grey[None] / 255.0), rtol=1e-4, atol=1e-6)


def test_hdf5_stack_gives_one_sample_per_row(tmp_path: Path) -> None:
    stack = np.stack([flux(3, seed) for seed in range(4)])
    with h5py.File(tmp_path / "survey.h5", "w") as file:
        file.create_dataset("images", data=stack).attrs["psf_fwhm"] = [1.0, 1.1, 1.2, 1.3]
    samples = list(iter_observed(tmp_path / "survey.h5"))
    assert [s.name for s in samples] == [f"survey-{i}" for i in range(4)]
    assert [s.psf_fwhm for s in samples] == pytest.approx([1.0, 1.1, 1.2, 1.3])
    np.testing.assert_array_equal(samples[2].flux, stack[2])
    dataset = ObservedImagesDataset(tmp_path / "survey.h5", size=SIZE)
    np.testing.assert_allclose(to_flux(dataset[3][IMAGE]).numpy(), stack[3], rtol=1e-4, atol=1e-6)
    with pytest.raises(DataError, match="holds 4 images"):
        read_observed(tmp_path / "survey.h5")


def test_explicit_psf_fwhm_overrides_the_header(tmp_path: Path) -> None:
    write_fits(tmp_path / "a.fits", flux(3), PSF_FWHM=1.1)
    dataset = ObservedImagesDataset(tmp_path / "a.fits", psf_fwhm=2.5, size=SIZE)
    assert dataset[0][PSF_FWHM].item() == pytest.approx(2.5)


def test_folder_is_sorted_ignores_other_files_and_keeps_names_unique(tmp_path: Path) -> None:
    write_fits(tmp_path / "b.fits", flux(3, 1), FWHM=1.0)
    write_fits(tmp_path / "a.fits", flux(3, 2), FWHM=1.0)
    Image.fromarray(np.zeros((SIZE, SIZE, 3), np.uint8)).save(tmp_path / "a.png")
    (tmp_path / "notes.txt").write_text("not an image")
    dataset = ObservedImagesDataset(tmp_path, psf_fwhm=1.0, size=SIZE)
    assert dataset.names == ["a", "a-2", "b"]
    np.testing.assert_allclose(to_flux(dataset[2][IMAGE]).numpy(), flux(3, 1), rtol=1e-4)


def test_datamodule_batches_keep_names_and_fwhm(tmp_path: Path) -> None:
    for i in range(3):
        write_fits(tmp_path / f"g{i}.fits", flux(3, i), PSF_FWHM=1.0 + i)
    module = ObservedImagesDataModule(str(tmp_path), size=SIZE, batch_size=2)
    batch = next(iter(module.predict_dataloader()))
    assert batch[NAME] == ["g0", "g1"]
    assert batch[IMAGE].shape == (2, 3, SIZE, SIZE)
    torch.testing.assert_close(batch[PSF_FWHM], torch.tensor([1.0, 2.0]))


def corrupt_fits(folder: Path) -> Path:
    path = write_fits(folder / "broken.fits", flux(3), FWHM=1.0)
    path.write_bytes(path.read_bytes()[: 2880 + 100])  # header intact, most pixels gone
    return path


BAD_INPUTS = {
    "nan": (
        lambda d: write_fits(d / "holes.fits", np.where(np.eye(SIZE) > 0, np.nan, flux(3)), FWHM=1),
        "holes.fits: 24 NaN/inf pixels; mask or inpaint them first",
    ),
    "bands": (
        lambda d: write_fits(d / "mono.fits", flux(1)[0], FWHM=1.0),
        "mono.fits: 1 band(s), the model expects 3",
    ),
    "size": (
        lambda d: write_fits(d / "big.fits", np.ones((3, 10, 12), np.float32), FWHM=1.0),
        "big.fits: image is 10×12, the model expects 8×8 (crop or resample it first)",
    ),
    "corrupt": (corrupt_fits, "broken.fits: cannot read the file ("),
    "no fwhm": (
        lambda d: write_fits(d / "bare.fits", flux(3)),
        "bare.fits: no PSF FWHM in the header (PSF_FWHM/FWHM/SEEING); pass --data.psf_fwhm",
    ),
    "empty folder": (lambda d: d, "holds no FITS, PNG/JPEG or HDF5 files"),
}


@pytest.mark.filterwarnings("ignore:File may have been truncated")
@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_raises_data_error_naming_the_file(tmp_path: Path, case: str) -> None:
    make, message = BAD_INPUTS[case]
    path = make(tmp_path)
    with pytest.raises(DataError) as error:
        ObservedImagesDataset(path, size=SIZE)
    assert message in str(error.value) and str(path) in str(error.value)
    assert "\n" not in str(error.value)
