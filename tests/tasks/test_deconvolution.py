from functools import partial

import pytest
import torch

from galvision.backbones import Backbone
from galvision.data import keys
from galvision.heads import PixelDecoder
from galvision.tasks import DeconvolutionTask
from helpers.batches import prepare, simulated_batch
from helpers.training import losses_over_steps


def make_task(tiny_backbone_kwargs, **kwargs) -> DeconvolutionTask:
    return DeconvolutionTask(
        Backbone(**tiny_backbone_kwargs), head=partial(PixelDecoder, num_maps=2), **kwargs
    )


def test_default_transforms_make_display_space_input_and_target(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs)
    batch = prepare(task, simulated_batch(), "val")
    assert batch[keys.IMAGE].shape == batch[keys.TARGET].shape == (4, 3, 32, 32)
    assert batch[keys.TARGET].min() >= 0 and batch[keys.TARGET].max() <= 1
    again = prepare(task, simulated_batch(), "val")
    assert torch.equal(batch[keys.IMAGE], again[keys.IMAGE])


def test_a_few_steps_reduce_the_loss_on_a_fixed_batch(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs, loss="l1+ssim")
    losses = losses_over_steps(task, prepare(task, simulated_batch(), "val"))
    assert losses[-1] < 0.7 * losses[0]


def test_layer_decay_gives_earlier_blocks_smaller_learning_rates(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs, layer_decay=0.5)
    optimizer = task.configure_optimizers()
    rates = sorted({group["lr"] for group in optimizer.param_groups})
    # timm: the last block keeps the base rate, each earlier layer is halved; heads keep it too
    assert rates == pytest.approx([2.5e-4, 5e-4, 1e-3])
    decoder_ids = {id(p) for p in task.network.head.parameters()}
    for group in optimizer.param_groups:
        if any(id(p) in decoder_ids for p in group["params"]):
            assert group["lr"] == pytest.approx(1e-3)


def test_frozen_backbone_is_left_out_of_the_optimizer(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs, freeze_backbone=True)
    optimized = {id(p) for g in task.configure_optimizers().param_groups for p in g["params"]}
    assert not optimized & {id(p) for p in task.backbone.parameters()}
    assert {id(p) for p in task.network.head.parameters()} <= optimized


def test_norms_and_biases_are_not_weight_decayed(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs)
    optimizer = task.configure_optimizers()
    names = {id(p): n for n, p in task.named_parameters()}
    checked = 0
    for group in optimizer.param_groups:
        for p in group["params"]:
            if names[id(p)].startswith("network.backbone.") and p.ndim <= 1:
                assert group["weight_decay"] == 0.0, names[id(p)]
                checked += 1
    assert checked > 10  # the norms and biases of every block


def test_predict_step_returns_the_network_restoration_with_the_inputs(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs).eval()
    batch = prepare(task, simulated_batch(2), "predict")
    out = task.predict_batch(batch)
    expected = task.network(batch[keys.IMAGE], batch[keys.PSF_FWHM]).clamp(0, 1)
    assert torch.equal(out["restored"], expected)
    assert torch.equal(out[keys.IMAGE], batch[keys.IMAGE])
    assert not torch.equal(out["restored"], batch[keys.IMAGE].clamp(0, 1))


def test_the_network_runs_without_lightning(tiny_backbone_kwargs):
    network = make_task(tiny_backbone_kwargs).network.eval()
    assert not isinstance(network, type(make_task(tiny_backbone_kwargs)))
    image = torch.rand(2, 3, 32, 32)
    assert network(image, torch.full((2,), 1.2)).shape == image.shape
    with pytest.raises(ValueError, match="no psf_fwhm"):
        network(image)
