"""HST stamps redrawn as clean survey fields."""

from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import SHARED_DATA
from galvision.data.intensity import magnitude_to_flux
from galvision.data.real_lenses import real_fields
from galvision.errors import DataError


def write_hst(path: Path, stamps: list[np.ndarray], scale: float = 0.05) -> Path:
    with h5py.File(path, "w") as file:
        for row, stamp in enumerate(stamps):
            file[f"image/{row:03d}"] = stamp.astype(np.float32)
        file["pixel_scale"] = np.full(len(stamps), scale)
        file["name"] = np.array([f"lens{row}".encode() for row in range(len(stamps))])
    return path


def gaussian(side: int, sigma: float) -> np.ndarray:
    y, x = np.mgrid[:side, :side] - (side - 1) / 2
    return np.exp(-(x**2 + y**2) / (2 * sigma**2))


def test_stamps_land_centred_at_the_survey_scale_with_magnitude_and_colours(tmp_path):
    path = write_hst(tmp_path / "hst.h5", [gaussian(80, 10.0), gaussian(120, 20.0)])
    fields, names = real_fields(path, size=32, mag=18.0, colours=(1.0, 0.5))
    assert fields.shape == (2, 3, 32, 32) and names == ["lens0", "lens1"]
    totals = fields.sum(axis=(2, 3))
    np.testing.assert_allclose(totals[:, 1], magnitude_to_flux(18.0), rtol=1e-4)
    np.testing.assert_allclose(totals[:, 0] / totals[:, 1], 10 ** (-0.4 * 1.0), rtol=1e-4)
    # 10 HST pixels of 0.05" are 1.9 survey pixels of 0.262": the peak sits in the centre.
    peak = np.unravel_index(fields[0, 1].argmax(), (32, 32))
    assert all(abs(p - 15.5) <= 1 for p in peak)
    width = (fields[1, 1] > fields[1, 1].max() / 2).sum(axis=1).max()
    assert 5 <= width <= 10  # FWHM 2.355 * 20 * 0.05 / 0.262 ≈ 9 px


def test_bad_stamps_and_files_raise_one_line(tmp_path):
    stamp = gaussian(40, 5.0)
    stamp[3, 3] = np.nan
    with pytest.raises(DataError, match="image lens0 has non-finite pixels"):
        real_fields(write_hst(tmp_path / "nan.h5", [stamp]), size=16)
    with h5py.File(tmp_path / "other.h5", "w") as file:
        file["x"] = np.zeros(3)
    with pytest.raises(DataError, match=r"other\.h5: not an HST image file"):
        real_fields(tmp_path / "other.h5", size=16)


@pytest.mark.skipif(
    not (SHARED_DATA / "real_lenses_hst.h5").is_file(), reason="real lens set absent"
)
def test_the_real_lens_set_renders_thirteen_fields():
    fields, names = real_fields(SHARED_DATA / "real_lenses_hst.h5", size=64)
    assert fields.shape == (13, 3, 64, 64) and "SDSSJ0029-0055" in names
    assert np.isfinite(fields).all()
