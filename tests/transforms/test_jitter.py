import pytest
import torch

from galvision.data import keys
from galvision.errors import ConfigError
from galvision.transforms import ImageJitter


def galaxies(count: int) -> torch.Tensor:
    """Gaussian blobs of 3 bands on 32×32 stamps, values in [0, 1]."""
    y, x = torch.meshgrid(torch.arange(32.0) - 16, torch.arange(32.0) - 16, indexing="ij")
    blob = torch.exp(-(x**2 + y**2) / 40)
    return blob.expand(count, 3, 32, 32).clone()


def test_jitter_draws_a_different_view_of_each_image_in_training():
    images = galaxies(16)
    first = ImageJitter(p=1.0)({keys.IMAGE: images}, "train")[keys.IMAGE]
    second = ImageJitter(p=1.0)({keys.IMAGE: images}, "train")[keys.IMAGE]
    assert first.shape == images.shape and first.dtype == images.dtype
    assert first.min() >= 0 and first.max() <= 1
    assert (first - images).abs().mean() > 0.01
    assert (first - second).abs().mean() > 0.01  # fresh at every call
    assert (first[0] - first[1]).abs().mean() > 0.01  # drawn per sample


def test_jitter_keeps_the_galaxy_recognisable():
    images = galaxies(16)
    jittered = ImageJitter()({keys.IMAGE: images}, "train")[keys.IMAGE]
    flat, seen = images.flatten(1), jittered.flatten(1)
    correlation = torch.nn.functional.cosine_similarity(
        flat - flat.mean(1, True), seen - seen.mean(1, True)
    )
    assert correlation.median() > 0.85 and correlation.min() > 0.5


def test_jitter_leaves_evaluation_alone_and_refuses_image_targets():
    images = galaxies(2)
    assert ImageJitter()({keys.IMAGE: images}, "val")[keys.IMAGE] is images
    with pytest.raises(ConfigError, match="target"):
        ImageJitter()({keys.IMAGE: images, keys.TARGET: images}, "train")


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"crop_scale": (0.0, 1.0)}, "crop_scale"),
        ({"blur_sigma": (2.0, 1.0)}, "blur_sigma"),
        ({"brightness": 1.5}, "brightness=1.5"),
        ({"noise": -0.1}, "noise=-0.1"),
    ],
)
def test_jitter_refuses_bad_settings(settings, named):
    with pytest.raises(ConfigError, match=named):
        ImageJitter(**settings)
