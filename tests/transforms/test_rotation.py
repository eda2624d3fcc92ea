import pytest
import torch

from galvision.data import keys
from galvision.errors import ConfigError
from galvision.transforms import SmallRotation


def blob(count: int) -> torch.Tensor:
    """A bright bar along the x axis through the centre of 33×33 stamps."""
    image = torch.zeros(count, 1, 33, 33)
    image[:, 0, 16, 6:27] = 1.0
    return image


def bar_angle(image: torch.Tensor) -> float:
    """Orientation in degrees of the light's principal axis."""
    y, x = torch.meshgrid(torch.arange(33.0) - 16, torch.arange(33.0) - 16, indexing="ij")
    w = image.clamp(min=0)
    xx, yy, xy = (w * x * x).sum(), (w * y * y).sum(), (w * x * y).sum()
    return float(torch.rad2deg(0.5 * torch.atan2(2 * xy, xx - yy)))


def test_small_rotation_turns_clean_galaxies_within_the_range_and_keeps_the_psf():
    psf = torch.rand(200, 1, 5, 5)
    out = SmallRotation(degrees=20)({keys.CLEAN: blob(200), keys.PSF: psf}, "train")
    angles = torch.tensor([bar_angle(image[0]) for image in out[keys.CLEAN]])
    assert angles.abs().max() <= 21
    assert angles.abs().max() > 10 and angles.std() > 5  # drawn, not fixed
    assert out[keys.PSF] is psf


def test_small_rotation_turns_image_and_mask_alike_and_leaves_evaluation_alone():
    image = blob(8)
    out = SmallRotation()({keys.IMAGE: image, keys.MASK: image.clone()}, "train")
    assert torch.allclose(out[keys.IMAGE], out[keys.MASK])
    assert not torch.allclose(out[keys.IMAGE], image)
    assert SmallRotation()({keys.IMAGE: image}, "val")[keys.IMAGE] is image


def test_small_rotation_refuses_boxes_and_bad_ranges():
    with pytest.raises(ConfigError, match="boxes"):
        SmallRotation()({keys.IMAGE: blob(1), keys.BOXES: [torch.zeros(0, 4)]}, "train")
    with pytest.raises(ConfigError, match="degrees=0"):
        SmallRotation(degrees=0)
