"""Tests for the biharmonic inpainting baseline."""

import numpy as np
import pytest

from galvision.baselines.inpainting import biharmonic_inpaint
from galvision.errors import DataError


@pytest.fixture(scope="module")
def smooth() -> tuple[np.ndarray, np.ndarray]:
    """Smooth 3-band galaxies (elliptical Gaussians on a sky gradient) and 8×8 patch masks."""
    yy, xx = np.mgrid[:32, :32] - 15.5
    images = []
    for i in range(4):
        galaxy = np.exp(-(xx**2 / (2 * (4 + i) ** 2) + yy**2 / (2 * 5**2)))
        images.append([0.8 * galaxy + 0.002 * (xx + band) for band in range(3)])
    rng = np.random.default_rng(0)
    masks = np.zeros((4, 1, 32, 32), np.float32)
    for mask in masks:
        for cell in rng.choice(16, size=5, replace=False):
            row, column = divmod(int(cell), 4)
            mask[0, 8 * row : 8 * row + 8, 8 * column : 8 * column + 8] = 1
    return np.asarray(images, np.float32), masks


def test_biharmonic_fills_a_smooth_image_closely(smooth):
    images, masks = smooth
    hidden = np.broadcast_to(masks.astype(bool), images.shape)
    filled = biharmonic_inpaint(np.where(hidden, 0.0, images), masks, workers=1)
    assert filled.shape == images.shape and filled.dtype == np.float32
    np.testing.assert_array_equal(filled[~hidden], images[~hidden])
    error = np.abs(filled - images)[hidden]
    assert error.max() < 0.1 and error.mean() < 0.01
    assert error.mean() < 0.05 * np.abs(images[hidden]).mean()


def test_processes_give_the_same_result(smooth):
    images, masks = smooth
    np.testing.assert_allclose(
        biharmonic_inpaint(images, masks, workers=2), biharmonic_inpaint(images, masks[:, 0], 1)
    )


def test_masks_that_do_not_fit_are_a_data_error(smooth):
    images, masks = smooth
    with pytest.raises(DataError, match="do not fit images"):
        biharmonic_inpaint(images, masks[:, :, :16])
