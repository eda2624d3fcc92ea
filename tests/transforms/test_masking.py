import re

import pytest
import torch

from galvision.errors import ConfigError
from galvision.transforms.masking import KINDS, MaskGenerator


def masks(kind: str, fraction=0.3, n: int = 32, size: int = 64, seed: int = 0, **kwargs):
    generator = torch.Generator().manual_seed(seed)
    return MaskGenerator({kind: 1.0}, fraction, **kwargs)(n, size, size, generator)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_covers_the_target_fraction(kind):
    mask = masks(kind)
    assert mask.shape == (32, 1, 64, 64) and mask.dtype == torch.float32
    assert set(mask.unique().tolist()) == {0.0, 1.0}
    covered = mask.mean(dim=(1, 2, 3))
    # Exact kinds round to whole cells; artefacts stop at the first element past the target.
    assert covered.min() >= 0.3 - 0.01
    assert covered.max() <= 0.3 + (0.01 if kind in ("patches", "pixels") else 0.08)
    assert covered.mean().item() == pytest.approx(0.3, abs=0.03)


def test_patches_are_grid_aligned_and_exactly_counted():
    mask = masks("patches", fraction=0.3, patch_size=8)
    blocks = mask.view(32, 8, 8, 8, 8).permute(0, 1, 3, 2, 4).flatten(3)  # (B, row, col, 64 px)
    assert torch.equal(blocks.amin(dim=-1), blocks.amax(dim=-1))  # each patch all in or all out
    assert (blocks[..., 0].sum(dim=(1, 2)) == round(0.3 * 64)).all()


def test_fraction_range_is_drawn_per_image():
    covered = masks("pixels", fraction=(0.1, 0.6)).mean(dim=(1, 2, 3))
    assert covered.min() >= 0.1 - 1e-3 and covered.max() <= 0.6 + 1e-3
    assert covered.max() - covered.min() > 0.25


@pytest.mark.parametrize("kind", KINDS)
def test_masks_repeat_with_the_seed_and_differ_between_seeds(kind):
    assert torch.equal(masks(kind, n=4, seed=3), masks(kind, n=4, seed=3))
    assert not torch.equal(masks(kind, n=4, seed=3), masks(kind, n=4, seed=4))


@pytest.mark.parametrize("kind", KINDS)
def test_no_mask_ever_hides_the_whole_image(kind):
    mask = masks(kind, fraction=0.99, n=16, size=16, patch_size=8)
    assert (mask.flatten(1).min(dim=1).values == 0).all()


def test_bad_columns_span_the_full_height_and_are_one_or_two_pixels_wide():
    mask = masks("columns", fraction=0.01, n=16)[:, 0].bool()  # a single column per image
    hit = mask.any(dim=1)
    assert torch.equal(hit, mask.all(dim=1))
    assert set(hit.sum(dim=1).tolist()) <= {1, 2}


def principal_spreads(pixels: torch.Tensor) -> torch.Tensor:
    """Standard deviations of masked pixel coordinates along their principal axes (minor first)."""
    points = pixels.nonzero().float()
    return torch.linalg.eigvalsh(torch.cov(points.T)).sqrt()


def test_satellite_trails_are_thin_straight_lines_across_the_image():
    mask = masks("trails", fraction=1e-4, n=16)[:, 0].bool()  # one trail per image
    long = [image for image in mask if image.sum() >= 32]  # a few only clip a corner
    assert len(long) >= 10
    for image in long:
        minor, major = principal_spreads(image)
        assert minor < 1.0  # a stripe at most 3 px wide
        assert major > 2.5 * minor  # elongated, not a blob
        edges = [image[0].any(), image[-1].any(), image[:, 0].any(), image[:, -1].any()]
        assert sum(edges) >= 2  # it runs from border to border


def test_saturated_stars_are_discs_with_a_vertical_bleed_trail():
    mask = masks("saturation", fraction=0.001, n=32)[:, 0].bool()  # one star per image
    inside = [m for m in mask if not (m[0].any() or m[-1].any() or m[:, 0].any() or m[:, -1].any())]
    assert len(inside) > 10
    for image in inside:
        rows, columns = image.any(dim=1).sum(), image.any(dim=0).sum()
        assert rows > columns >= 3  # the disc is at least 3 px across, the bleed longer
        widths = image.sum(dim=1)
        # The bleed trail is narrower than the disc: widest row > width at the trail's ends.
        ends = widths[widths > 0][[0, -1]]
        assert widths.max() > ends.max()


def test_kind_weights_pick_the_kind_per_image():
    generator = torch.Generator().manual_seed(0)
    mixed = MaskGenerator({"columns": 1.0, "patches": 0.0}, 0.2)(8, 32, 32, generator)
    assert torch.equal(mixed.amin(dim=2), mixed.amax(dim=2))  # columns only


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"kinds": {"trials": 1.0}}, "unknown kind 'trials'"),
        ({"fraction": 1.0}, "fraction 1.0 is outside [0, 1)"),
        ({"fraction": (0.2, 1.5)}, "fraction 1.5 is outside [0, 1)"),
        ({"fraction": -0.1}, "fraction -0.1 is outside [0, 1)"),
        ({"kinds": {"patches": 1.0, "columns": -2.0}}, "kind 'columns' has a negative weight -2.0"),
    ],
)
def test_bad_settings_name_the_culprit(arguments, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        MaskGenerator(**arguments)
    assert "\n" not in str(info.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_masks_are_made_on_the_gpu():
    generator = torch.Generator("cuda").manual_seed(0)
    for kind in KINDS:
        mask = MaskGenerator({kind: 1.0}, 0.3)(4, 64, 64, generator, device="cuda")
        assert mask.is_cuda and mask.mean().item() == pytest.approx(0.3, abs=0.08)
