"""Tests for loading user-provided truth images."""

from __future__ import annotations

from pathlib import Path

import galsim
import h5py
import numpy as np
import pytest
from astropy.io import fits
from PIL import Image

from conftest import SHARED_DATA
from galvision.data.intensity import magnitude_to_flux, to_flux
from galvision.data.real_truth import load_truth
from galvision.errors import ConfigError, DataError

COSMOS_FILE = SHARED_DATA / "cosmos_hst_ext100.h5"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_fits_2d_is_padded_scaled_and_repeated(tmp_path: Path, rng) -> None:
    data = rng.normal(size=(30, 30)).astype(np.float32)
    fits.PrimaryHDU(data).writeto(tmp_path / "gal.fits")
    images, names = load_truth(tmp_path / "gal.fits", bands=3, size=40, flux_scale=2.0)
    assert images.shape == (1, 3, 40, 40) and images.dtype == np.float32 and names == ["gal"]
    np.testing.assert_array_equal(images[0, :, 5:35, 5:35], np.broadcast_to(2 * data, (3, 30, 30)))
    assert images[0, :, :5].any() == images[0, :, 35:].any() == np.False_


def test_fits_3d_in_an_image_extension_is_centre_cropped(tmp_path: Path, rng) -> None:
    data = rng.normal(size=(3, 51, 50)).astype(np.float32)
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data)]).writeto(tmp_path / "cube.fits")
    images, _ = load_truth(tmp_path / "cube.fits", bands=3, size=40)
    # Index 25 of both axes lands on index 20.
    np.testing.assert_array_equal(images[0], data[:, 5:45, 5:45])


def test_png_colour_is_display_space_bluest_first(tmp_path: Path, rng) -> None:
    rgb = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "colour.png")
    images, _ = load_truth(tmp_path / "colour.png", bands=3, size=16)
    expected = to_flux(rgb[..., ::-1].transpose(2, 0, 1).astype(np.float32) / 255)
    np.testing.assert_allclose(images[0], expected, rtol=1e-5, atol=1e-7)


def test_folder_reads_fits_and_pictures_in_name_order(tmp_path: Path, rng) -> None:
    fits.PrimaryHDU(np.ones((8, 8), np.float32)).writeto(tmp_path / "b.fits")
    Image.fromarray(np.full((8, 8), 255, np.uint8)).save(tmp_path / "a.png")
    (tmp_path / "notes.txt").write_text("ignored")
    images, names = load_truth(tmp_path, bands=1, size=8)
    assert names == ["a", "b"]
    np.testing.assert_allclose(images[:, 0, 4, 4], [to_flux(1.0), 1.0], rtol=1e-5)


@pytest.mark.parametrize(
    ("shape", "layout"), [((4, 12, 12, 3), "NHWC"), ((4, 3, 12, 12), "NCHW"), ((4, 12, 12), "NHW")]
)
def test_hdf5_layouts(tmp_path: Path, rng, shape, layout) -> None:
    data = rng.normal(size=shape).astype(np.float32)
    with h5py.File(tmp_path / "set.h5", "w") as f:
        f["other"] = np.zeros(3)
        f["clean"] = data
    images, names = load_truth(tmp_path / "set.h5", bands=3, size=12)
    expected = data
    if layout == "NHWC":
        expected = data.transpose(0, 3, 1, 2)
    elif layout == "NHW":
        expected = np.repeat(data[:, None], 3, axis=1)
    np.testing.assert_array_equal(images, expected)
    assert names == ["set-0", "set-1", "set-2", "set-3"]


def test_hdf5_of_encoded_pictures_reads_like_picture_files(tmp_path: Path, rng) -> None:
    pictures = [rng.integers(0, 256, size=(12, 12, 3), dtype=np.uint8) for _ in range(2)]
    encoded = np.empty(len(pictures), dtype=object)
    for row, rgb in enumerate(pictures):
        Image.fromarray(rgb).save(tmp_path / f"{row}.png")
        encoded[row] = np.frombuffer((tmp_path / f"{row}.png").read_bytes(), np.uint8)
    with h5py.File(tmp_path / "zoo.h5", "w") as f:
        f.create_dataset("png", data=encoded, dtype=h5py.vlen_dtype("u1"))
        f["label"] = [0, 1]
    images, names = load_truth(tmp_path / "zoo.h5", bands=3, size=12)
    from_files, _ = load_truth(tmp_path, bands=3, size=12)
    np.testing.assert_array_equal(images, from_files)
    assert names == ["zoo-0", "zoo-1"]


@pytest.mark.parametrize(("file_bands", "bands"), [(2, 3), (3, 1)])
def test_band_mismatch_names_the_file(tmp_path: Path, file_bands: int, bands: int) -> None:
    fits.PrimaryHDU(np.zeros((file_bands, 8, 8), np.float32)).writeto(tmp_path / "odd.fits")
    with pytest.raises(DataError, match=rf"odd\.fits: {file_bands} bands but the model takes"):
        load_truth(tmp_path / "odd.fits", bands=bands, size=8)


def test_non_finite_pixels_name_the_file(tmp_path: Path) -> None:
    data = np.zeros((8, 8), np.float32)
    data[2, 3], data[5, 5] = np.nan, np.inf
    fits.PrimaryHDU(data).writeto(tmp_path / "holes.fits")
    with pytest.raises(DataError, match=r"holes\.fits: 2 non-finite pixels$"):
        load_truth(tmp_path, bands=1, size=8)


def test_corrupt_and_missing_inputs_are_data_errors(tmp_path: Path) -> None:
    (tmp_path / "broken.h5").write_bytes(b"not an hdf5 file at all")
    with pytest.raises(DataError, match=r"broken\.h5: unreadable or corrupt"):
        load_truth(tmp_path / "broken.h5", bands=1, size=8)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no FITS, PNG or JPEG files"):
        load_truth(tmp_path / "empty", bands=1, size=8)
    with pytest.raises(ConfigError, match="max_mag needs a COSMOS file"):
        fits.PrimaryHDU(np.zeros((8, 8), np.float32)).writeto(tmp_path / "g.fits")
        load_truth(tmp_path / "g.fits", bands=1, size=8, max_mag=24.0)
    with pytest.raises(ConfigError, match=r"g\.fits: magnify needs a COSMOS file"):
        load_truth(tmp_path / "g.fits", bands=1, size=8, magnify=2.0)
    with pytest.raises(ConfigError, match=r"magnify=0\.0 must be positive"):
        load_truth(tmp_path / "g.fits", bands=1, size=8, magnify=0.0)


def _gaussian_stamp(sigma: float, size: int, scale: float = 0.03) -> np.ndarray:
    return galsim.Gaussian(sigma=sigma).drawImage(nx=size, ny=size, scale=scale).array


def test_cosmos_layout_is_deconvolved_and_scaled_to_the_magnitude(tmp_path: Path) -> None:
    psf = galsim.Gaussian(sigma=0.15)
    observed = galsim.Convolve(galsim.Gaussian(sigma=0.3), psf).withFlux(7.0)
    with h5py.File(tmp_path / "mini_cosmos.h5", "w") as f:
        for key in ("000", "001"):
            f[f"gal/{key}"] = observed.drawImage(nx=160, ny=160, scale=0.03).array
            f[f"psf/{key}"] = psf.drawImage(nx=65, ny=65, scale=0.03, method="no_pixel").array
        f["mag"], f["ident"], f["pixel_scale"] = [22.0, 25.0], [11, 12], [0.03, 0.03]
    images, names = load_truth(tmp_path / "mini_cosmos.h5", bands=2, size=32, max_mag=24.5)
    assert names == ["cosmos-11"] and images.shape == (1, 2, 32, 32)
    truth = galsim.Convolve(galsim.Gaussian(sigma=0.3), galsim.Gaussian(fwhm=0.1))
    expected = truth.withFlux(float(magnitude_to_flux(22.0))).drawImage(nx=32, ny=32, scale=0.262)
    np.testing.assert_allclose(images[0, 1], expected.array, atol=0.01 * expected.array.max())
    # Magnified twice at the same surface brightness: as drawn at half the pixel scale, times 4.
    magnified, _ = load_truth(
        tmp_path / "mini_cosmos.h5", bands=2, size=32, max_mag=24.5, magnify=2.0
    )
    finer = truth.withFlux(float(magnitude_to_flux(22.0))).drawImage(nx=32, ny=32, scale=0.131)
    np.testing.assert_allclose(magnified[0, 0], 4 * finer.array, atol=0.04 * finer.array.max())


def test_cosmos_bright_subset_renders_with_catalogue_flux() -> None:
    if not COSMOS_FILE.is_file():
        pytest.skip(reason=f"{COSMOS_FILE} not found (shared real-data folder beside the repo)")
    images, names = load_truth(COSMOS_FILE, bands=3, size=64, max_mag=24.5)
    assert images.shape == (40, 3, 64, 64) and np.isfinite(images).all()
    with h5py.File(COSMOS_FILE) as f:
        mags = f["mag"][()][f["mag"][()] <= 24.5]
    ratio = images[:, 0].sum(axis=(-2, -1)) / magnitude_to_flux(mags)
    assert np.mean(np.abs(ratio - 1) < 0.05) >= 0.9
    assert len(set(names)) == 40 and names[0].startswith("cosmos-")
    assert np.all(images[:, 0, 28:36, 28:36].max(axis=(-2, -1)) == images[:, 0].max(axis=(-2, -1)))
