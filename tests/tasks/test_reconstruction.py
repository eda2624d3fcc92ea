from functools import partial

import pytest
import torch

from galvision.backbones import Backbone
from galvision.data import keys
from galvision.errors import DataError
from galvision.heads import PixelDecoder
from galvision.tasks import ReconstructionTask
from galvision.transforms import MaskGenerator, MaskPixels, Observe
from helpers.batches import prepare, simulated_batch


def make_task(tiny_backbone_kwargs, **kwargs) -> ReconstructionTask:
    masks = MaskGenerator({"patches": 1.0, "trails": 1.0}, (0.2, 0.6), patch_size=8)
    return ReconstructionTask(
        Backbone(**tiny_backbone_kwargs),
        head=partial(PixelDecoder, num_maps=2),
        transforms=[Observe(), MaskPixels(masks)],
        **kwargs,
    )


def test_masked_pixels_are_hidden_and_visible_pixels_pass_through(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs).eval()
    batch = prepare(task, simulated_batch(scale=5.0), "val")
    image, mask, target = batch[keys.IMAGE], batch[keys.MASK].bool(), batch[keys.TARGET]
    assert mask.shape == (4, 1, 32, 32) and 0.2 <= mask.float().mean() <= 0.6
    hidden, visible = mask.expand_as(image), ~mask.expand_as(image)
    assert (image[hidden] == 0).all() and (target[hidden] != 0).all()
    with torch.no_grad():
        restored = task(image, batch[keys.MASK])
    assert torch.equal(restored[visible], target[visible])
    assert not torch.equal(restored[hidden], image[hidden])


@pytest.mark.parametrize(("loss", "expected"), [("l1", 0.1), ("mse", 0.01)])
def test_loss_counts_only_masked_pixels(tiny_backbone_kwargs, loss, expected):
    task = make_task(tiny_backbone_kwargs, loss=loss)
    target = torch.rand(2, 3, 32, 32)
    mask = torch.zeros(2, 1, 32, 32)
    mask[:, :, 8:16] = 1
    off_visible = torch.where(mask.bool(), 0.0, 5.0)
    prediction = target + 0.1 * mask + off_visible
    assert task.pixel_loss(prediction, target, mask).item() == pytest.approx(expected)
    assert task.pixel_loss(prediction - off_visible, target, mask).item() == pytest.approx(expected)
    everywhere = make_task(tiny_backbone_kwargs, loss=loss, loss_on="all")
    assert everywhere.pixel_loss(prediction, target, mask) > 1.0


def test_a_mask_hiding_a_whole_image_is_refused(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs)
    mask = torch.zeros(3, 1, 32, 32)
    mask[1] = 1
    with pytest.raises(DataError, match="mask of image 1 in the batch covers every pixel") as info:
        task(torch.rand(3, 3, 32, 32), mask)
    assert "\n" not in str(info.value)


def test_evaluation_masks_are_fixed_by_index_and_training_masks_are_fresh(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs)
    first = prepare(task, simulated_batch(scale=5.0), "val")[keys.MASK]
    again = prepare(task, simulated_batch(scale=5.0), "test")[keys.MASK]
    reordered = {k: v.flip(0) for k, v in simulated_batch(scale=5.0).items()}
    shuffled = prepare(task, reordered, "val")[keys.MASK]
    assert torch.equal(first, again) and torch.equal(first, shuffled.flip(0))
    assert not torch.equal(first[0], first[1])
    train = [prepare(task, simulated_batch(scale=5.0), "train")[keys.MASK] for _ in range(2)]
    assert not torch.equal(train[0], train[1])


def test_real_batches_keep_their_image_and_mask(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs)
    image = torch.rand(2, 3, 32, 32) + 0.5
    mask = torch.zeros(2, 32, 32)
    mask[:, 3, :] = 1  # a bad row
    batch = prepare(task, {keys.IMAGE: image.clone(), keys.MASK: mask}, "predict")
    assert torch.equal(batch[keys.MASK][:, 0], mask)
    assert (batch[keys.IMAGE][:, :, 3] == 0).all()
    assert torch.equal(batch[keys.IMAGE][:, :, 4:], image[:, :, 4:])
    restored = task.predict_batch(batch)["restored"]
    assert torch.equal(restored[:, :, 4:], image[:, :, 4:])
