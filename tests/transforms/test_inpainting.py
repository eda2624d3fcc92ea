import pytest
import torch

from galvision.data import keys
from galvision.transforms import MaskGenerator, MaskPixels


def test_masked_pixels_are_hidden_and_the_target_is_the_whole_image():
    image = torch.rand(4, 3, 16, 16) + 0.5
    out = MaskPixels(MaskGenerator(fraction=0.5))(
        {keys.IMAGE: image, keys.INDEX: torch.arange(4)}, "val"
    )
    mask = out[keys.MASK].bool().expand_as(image)
    assert out[keys.MASK].shape == (4, 1, 16, 16)
    assert out[keys.MASK].mean() == pytest.approx(0.5)
    assert (out[keys.IMAGE][mask] == 0).all()
    assert torch.equal(out[keys.IMAGE][~mask], image[~mask])
    assert torch.equal(out[keys.TARGET], image)


def test_evaluation_masks_follow_the_index_and_training_masks_are_fresh():
    masks = MaskPixels(MaskGenerator(kinds={"pixels": 1.0}, fraction=0.3))
    batch = {keys.IMAGE: torch.ones(3, 1, 8, 8), keys.INDEX: torch.tensor([5, 6, 7])}
    first = masks(batch, "val")[keys.MASK]
    flipped = {keys.IMAGE: batch[keys.IMAGE], keys.INDEX: batch[keys.INDEX].flip(0)}
    assert torch.equal(first, masks(flipped, "test")[keys.MASK].flip(0))
    assert not torch.equal(masks(batch, "train")[keys.MASK], masks(batch, "train")[keys.MASK])


def test_a_mask_the_data_bring_is_kept_and_checked():
    image = torch.ones(2, 1, 8, 8)
    mask = torch.zeros(2, 8, 8)
    mask[:, 0, 0] = 1
    out = MaskPixels()({keys.IMAGE: image, keys.MASK: mask}, "predict")
    assert out[keys.MASK].sum() == 2 and out[keys.IMAGE].sum() == 2 * 63
    with pytest.raises(ValueError, match=r"mask of shape \(2, 1, 4, 4\) does not fit"):
        MaskPixels()({keys.IMAGE: image, keys.MASK: torch.zeros(2, 1, 4, 4)}, "predict")
