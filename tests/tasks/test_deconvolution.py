import pytest
import torch

from galvision.backbones import Backbone
from galvision.data import keys
from galvision.tasks import DeconvolutionTask
from helpers.training import losses_over_steps


def make_task(tiny_backbone_kwargs, **kwargs) -> DeconvolutionTask:
    return DeconvolutionTask(Backbone(**tiny_backbone_kwargs), num_maps=2, **kwargs)


def simulated_batch(n: int = 4) -> dict:
    psf = torch.zeros(n, 3, 5, 5)
    psf[:, :, 2, 2] = 0.5
    psf[:, :, 1:4, 1:4] += 0.5 / 9
    target_psf = torch.zeros(1, 3, 3, 3)
    target_psf[:, :, 1, 1] = 1.0
    return {
        keys.CLEAN: torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(n)),
        keys.PSF: psf,
        keys.TARGET_PSF: target_psf.expand(n, -1, -1, -1),
        keys.PSF_FWHM: torch.full((n,), 1.2),
        keys.INDEX: torch.arange(n),
    }


def test_prepare_batch_makes_display_space_input_and_target(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs)
    batch = task.prepare_batch(simulated_batch(), "val")
    assert batch[keys.IMAGE].shape == batch[keys.TARGET].shape == (4, 3, 32, 32)
    assert batch[keys.TARGET].min() >= 0 and batch[keys.TARGET].max() <= 1
    again = task.prepare_batch(simulated_batch(), "val")
    assert torch.equal(batch[keys.IMAGE], again[keys.IMAGE])


def test_a_few_steps_reduce_the_loss_on_a_fixed_batch(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs, loss="l1+ssim")
    losses = losses_over_steps(task, task.prepare_batch(simulated_batch(), "val"))
    assert losses[-1] < 0.7 * losses[0]


def test_layer_decay_gives_earlier_blocks_smaller_learning_rates(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs, layer_decay=0.5)
    optimizer = task.configure_optimizers()
    rates = sorted({group["lr"] for group in optimizer.param_groups})
    # timm: the last block keeps the base rate, each earlier layer is halved; heads keep it too
    assert rates == pytest.approx([2.5e-4, 5e-4, 1e-3])
    decoder_ids = {id(p) for p in task.decoder.parameters()}
    for group in optimizer.param_groups:
        if any(id(p) in decoder_ids for p in group["params"]):
            assert group["lr"] == pytest.approx(1e-3)


def test_frozen_backbone_is_left_out_of_the_optimizer(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs, freeze_backbone=True)
    optimized = {id(p) for g in task.configure_optimizers().param_groups for p in g["params"]}
    assert not optimized & {id(p) for p in task.backbone.parameters()}
    assert {id(p) for p in task.decoder.parameters()} <= optimized


def test_norms_and_biases_are_not_weight_decayed(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs)
    optimizer = task.configure_optimizers()
    names = {id(p): n for n, p in task.named_parameters()}
    for group in optimizer.param_groups:
        for p in group["params"]:
            if names[id(p)].startswith("backbone.") and p.ndim <= 1:
                assert group["weight_decay"] == 0.0, names[id(p)]


def test_predict_step_returns_restored_images_in_range(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs).eval()
    batch = task.prepare_batch(simulated_batch(2), "predict")
    out = task.predict_step(batch, 0)
    assert out["restored"].shape == (2, 3, 32, 32)
    assert out["restored"].min() >= 0 and out["restored"].max() <= 1
