from functools import partial

import pytest
import torch

from galvision.backbones import Backbone
from galvision.data import keys
from galvision.data.keys import VISIBLE
from galvision.errors import ConfigError
from galvision.heads import MAEDecoder, patchify
from galvision.tasks import MaskedAutoencoderTask
from helpers.batches import prepare, simulated_batch
from helpers.training import losses_over_steps


def make_task(tiny_backbone_kwargs, **kwargs) -> MaskedAutoencoderTask:
    decoder = partial(MAEDecoder, depth=1, width=32, num_heads=2)
    return MaskedAutoencoderTask(Backbone(**tiny_backbone_kwargs), head=decoder, **kwargs)


@pytest.mark.parametrize(("ratio", "visible"), [(0.75, 4), (0.5, 8), (0.9, 2)])
def test_every_sample_hides_the_same_number_of_distinct_patches(
    tiny_backbone_kwargs, ratio, visible
):
    task = make_task(tiny_backbone_kwargs, mask_ratio=ratio)
    batch = prepare(task, simulated_batch(), "train")
    assert batch[VISIBLE].shape == (4, visible)
    assert all(len(set(row.tolist())) == visible for row in batch[VISIBLE])
    assert task.scored_patches(batch[VISIBLE]).sum(dim=1).tolist() == [16 - visible] * 4


def test_evaluation_masks_follow_the_index_and_training_masks_change(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs)
    batch = simulated_batch()
    val = prepare(task, batch, "val")[VISIBLE]
    reordered = {k: v.flip(0) for k, v in batch.items()}
    assert torch.equal(prepare(task, reordered, "test")[VISIBLE], val.flip(0))
    assert len({tuple(row.tolist()) for row in val}) == 4
    first = prepare(task, batch, "train")[VISIBLE]
    assert not torch.equal(first, prepare(task, batch, "train")[VISIBLE])


def test_evaluation_masks_need_the_index(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs)
    batch = prepare(task, simulated_batch(), "val")
    del batch[keys.INDEX], batch[keys.VISIBLE]
    with pytest.raises(ValueError, match="MaskedAutoencoderTask: the batch has no 'index'"):
        task.eval().compute(batch)


def fixed_prediction(task, monkeypatch, predicted: torch.Tensor) -> None:
    monkeypatch.setattr(task, "forward", lambda image, visible: predicted)


def test_loss_covers_only_the_masked_patches(tiny_backbone_kwargs, monkeypatch):
    task = make_task(tiny_backbone_kwargs)
    batch = prepare(task, simulated_batch(), "val")
    target = patchify(batch[keys.IMAGE], 8)
    visible = batch[VISIBLE][..., None].expand(-1, -1, target.shape[-1])
    fixed_prediction(task, monkeypatch, target.scatter(1, visible, 100.0))
    assert task.compute(batch)["loss"] == 0
    masked = task.scored_patches(batch[VISIBLE])
    fixed_prediction(task, monkeypatch, torch.zeros_like(target))
    zeros = task.compute(batch)["loss"]
    assert zeros == pytest.approx(target[masked].square().mean().item())
    fixed_prediction(task, monkeypatch, torch.zeros_like(target).scatter(1, visible, -7.0))
    assert task.compute(batch)["loss"] == zeros


def test_masked_metrics_agree_with_the_loss(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs).eval()
    batch = prepare(task, simulated_batch(), "val")
    metrics = task.metrics["val_metrics"]
    with torch.no_grad():
        outputs = task.compute(batch)
        task.update_metrics(metrics, outputs, batch)
    values = metrics.compute()
    assert values["val/masked_mse"] == pytest.approx(outputs["loss"].item(), rel=1e-5)
    assert values["val/masked_psnr"] == pytest.approx(-10 * outputs["loss"].log10().item(), 1e-4)


def test_normalised_targets_are_denormalised_for_the_metrics(tiny_backbone_kwargs, monkeypatch):
    task = make_task(tiny_backbone_kwargs, norm_pix_loss=True)
    batch = prepare(task, simulated_batch(), "val")
    target = patchify(batch[keys.IMAGE], 8)
    normalised = (target - target.mean(-1, keepdim=True)) / target.var(-1, keepdim=True).add(
        1e-6
    ).sqrt()
    fixed_prediction(task, monkeypatch, normalised)
    outputs = task.compute(batch)
    assert outputs["loss"] == pytest.approx(0, abs=1e-10)
    task.update_metrics(task.metrics["val_metrics"], outputs, batch)
    assert task.metrics["val_metrics"].compute()["val/masked_mse"] < 1e-10


def test_a_few_steps_reduce_the_loss_on_a_fixed_batch(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs)
    losses = losses_over_steps(task, prepare(task, simulated_batch(), "val"))
    assert losses[-1] < 0.5 * losses[0]


def test_reconstruct_keeps_the_visible_patches_and_fills_the_others(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs).eval()
    image = prepare(task, simulated_batch(2), "val")[keys.IMAGE]
    visible = torch.tensor([[0, 5, 6, 15], [1, 2, 3, 4]])
    with torch.no_grad():
        restored = task.reconstruct(image, visible)
    assert restored.shape == image.shape
    before, after = patchify(image, 8), patchify(restored, 8)
    rows = torch.arange(2)[:, None]
    assert torch.equal(after[rows, visible], before[rows, visible])
    masked = task.scored_patches(visible)
    assert not torch.isclose(after[masked], before[masked]).any()


def test_reconstruct_refuses_normalised_predictions(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs, norm_pix_loss=True)
    with pytest.raises(ConfigError, match="norm_pix_loss=false"):
        task.reconstruct(torch.rand(1, 3, 32, 32), torch.tensor([[0, 1, 2, 3]]))


def test_no_masking_scores_every_patch(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs, mask_ratio=0.0)
    batch = prepare(task, simulated_batch(), "train")
    assert batch[VISIBLE].shape == (4, 16)
    assert task.scored_patches(batch[VISIBLE]).all()


@pytest.mark.parametrize(
    ("ratio", "message"),
    [
        (1.0, "mask_ratio=1.0 must be at least 0 and below 1"),
        (-0.1, "mask_ratio=-0.1 must be"),
        (0.99, "mask_ratio=0.99 leaves none of the 16 patches visible"),
    ],
)
def test_bad_mask_ratio_is_one_line_naming_the_value(tiny_backbone_kwargs, ratio, message):
    with pytest.raises(ConfigError, match=message) as error:
        make_task(tiny_backbone_kwargs, mask_ratio=ratio)
    assert "\n" not in str(error.value)
