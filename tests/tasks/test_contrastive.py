"""ContrastiveTask: two observations of one galaxy, NT-Xent, and the optional parameter targets."""

from pathlib import Path

import pytest
import torch

from galvision.backbones import Backbone
from galvision.cli import main
from galvision.data import keys
from galvision.data.intensity import to_display
from galvision.errors import ConfigError
from galvision.metrics import embedding_spread, retrieval_hits
from galvision.tasks import ContrastiveTask
from galvision.tasks.parameters import ParameterTargets
from galvision.transforms import Observe, RandomDihedral, convolve, dihedral
from helpers.batches import simulated_batch
from helpers.parameters import NAMES, assert_targets_are_stored, first_batch
from helpers.training import config_args, logged, losses_over_steps


def evaluation_loss(task: ContrastiveTask, batch: dict) -> float:
    """NT-Xent of the batch's fixed evaluation views."""
    task.eval()
    with torch.no_grad():
        loss = task.compute(task.prepare(batch, "val"))["loss"].item()
    task.train()
    return loss


def noiseless_batch() -> dict:
    """Four clean galaxies, each with a PSF of its own width, and no sky or Poisson noise."""
    batch = simulated_batch(4)
    radius = torch.arange(-2.0, 3.0).square()
    widths = torch.tensor([0.5, 0.8, 1.2, 2.0])[:, None, None]
    psf = torch.exp(-(radius[None, :, None] + radius[None, None, :]) / (2 * widths**2))
    psf = (psf / psf.sum(dim=(-2, -1), keepdim=True))[:, None].expand(-1, 3, -1, -1)
    batch[keys.PSF] = psf.contiguous()
    batch[keys.PSF_FWHM] = 2.355 * widths.flatten()
    batch[keys.SKY_SIGMA] = torch.zeros_like(batch[keys.SKY_SIGMA])
    batch[keys.GAIN] = torch.full_like(batch[keys.GAIN], 1e12)
    return batch


def test_training_on_fresh_views_brings_the_evaluation_loss_down(survey, tiny_backbone_kwargs):
    torch.manual_seed(0)
    task = ContrastiveTask(Backbone(**tiny_backbone_kwargs))
    batch = next(iter(survey.train_dataloader()))  # 8 galaxies
    before = evaluation_loss(task, batch)
    # Long enough for every batch and initialisation tried (16 seeds: at most 0.77 and 0.68).
    losses = losses_over_steps(task, batch, steps=60, stage="train")
    # Untrained, the second view of a galaxy is no nearer than the others: log(2B - 1).
    assert before == pytest.approx(torch.tensor(15.0).log().item(), abs=0.3)
    assert evaluation_loss(task, batch) < 0.85 * before
    assert sum(losses[-5:]) < 0.75 * sum(losses[:5])


def test_training_views_are_one_galaxy_through_another_psf_with_fresh_noise(
    tiny_backbone_kwargs,
):
    batch = noiseless_batch()
    task = ContrastiveTask(Backbone(**tiny_backbone_kwargs), transforms=[Observe(read_sigma=0)])
    views = task.prepare(batch, "train")
    clean, psf = batch[keys.CLEAN], batch[keys.PSF]
    torch.testing.assert_close(
        views[keys.IMAGE], to_display(convolve(clean, psf)), atol=1e-4, rtol=0
    )
    for i in range(4):
        through = [to_display(convolve(clean[i : i + 1], psf[j : j + 1]))[0] for j in range(4)]
        second = views[keys.SECOND_IMAGE][i]
        matches = [j for j in range(4) if torch.allclose(second, through[j], atol=1e-4)]
        assert len(matches) == 1 and matches[0] != i  # the same galaxy, another galaxy's PSF
    # With the survey's noise, drawn afresh for each view.
    task = ContrastiveTask(Backbone(**tiny_backbone_kwargs), transforms=[Observe()])
    views = task.prepare(simulated_batch(4), "train")
    difference = (views[keys.IMAGE] - views[keys.SECOND_IMAGE]).abs().mean(dim=(1, 2, 3))
    assert (difference > 1e-3).all()


def test_evaluation_views_differ_by_a_turn_fixed_by_the_index(tiny_backbone_kwargs):
    transforms = [Observe(read_sigma=0), RandomDihedral()]
    task = ContrastiveTask(Backbone(**tiny_backbone_kwargs), transforms=transforms)
    batch = noiseless_batch() | {keys.INDEX: torch.tensor([0, 6, 7, 20])}
    views = task.prepare(batch, "val")
    for i, k in enumerate([1, 7, 1, 7]):  # 1 + index % 7: never the identity
        torch.testing.assert_close(
            views[keys.SECOND_IMAGE][i], dihedral(views[keys.IMAGE][i], k), atol=1e-4, rtol=0
        )
    again = task.prepare(batch, "val")
    assert torch.equal(again[keys.SECOND_IMAGE], views[keys.SECOND_IMAGE])
    assert keys.SECOND_IMAGE not in task.prepare(batch, "predict")


def test_combined_objective_targets_are_what_the_simulator_stored(survey, tiny_backbone_kwargs):
    task = ContrastiveTask(
        Backbone(**tiny_backbone_kwargs), parameters=NAMES, parameter_weight=2.0
    ).eval()
    task.targets.check_data(survey, "fit")
    batch = task.prepare(first_batch(survey), "val")
    with torch.no_grad():
        outputs = task.compute(batch)
        first = task.network(batch[keys.IMAGE])["projection"]
        second = task.network(batch[keys.SECOND_IMAGE])["projection"]
        contrastive = task.criterion(first, second)
    assert_targets_are_stored(task.targets, outputs["target"], survey, batch)
    parameter = ParameterTargets.loss(outputs["predicted"], outputs["target"])
    assert parameter.isfinite() and parameter > 0
    torch.testing.assert_close(outputs["loss"], contrastive + 2.0 * parameter)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"parameters": ["hlr"]}, "only with model.parameter_weight > 0"),
        ({"parameter_weight": -1.0}, "must not be negative"),
        (
            {"parameters": ["position_angle"], "parameter_weight": 1.0},
            "'position_angle' changes when RandomDihedral turns",
        ),
    ],
)
def test_parameter_settings_that_cannot_work_are_refused(tiny_backbone_kwargs, settings, message):
    with pytest.raises(ConfigError, match=message):
        ContrastiveTask(Backbone(**tiny_backbone_kwargs), **settings)


def test_retrieval_and_spread_on_embeddings_built_by_hand():
    basis = torch.eye(4)
    assert retrieval_hits(basis, 2 * basis).all()
    assert not retrieval_hits(basis, basis.roll(1, dims=0)).any()
    # One-hot rows: each dimension holds one 1 among four, deviation √3 / 4, times √4.
    assert embedding_spread(basis).item() == pytest.approx(3**0.5 / 2)
    assert embedding_spread(torch.ones(4, 4) + 1e-3 * basis).item() < 1e-3  # collapsed


def test_predictions_are_the_pooled_embeddings(tiny_backbone_kwargs):
    task = ContrastiveTask(Backbone(**tiny_backbone_kwargs)).eval()
    batch = task.prepare(simulated_batch(4), "predict")
    embedding = task.predict_batch(batch)["embedding"]
    torch.testing.assert_close(embedding, task.backbone.forward_pooled(batch[keys.IMAGE]))
    assert embedding.shape == (4, 48)


def test_the_combined_objective_trains_through_the_cli(tmp_path: Path):
    main(
        [
            "fit",
            *config_args("pretrain_contrastive"),
            "--model.init_args.parameter_weight",
            "1.0",
            "--model.init_args.parameters",
            "[hlr, q]",
            "--trainer.default_root_dir",
            str(tmp_path),
        ]
    )
    for key in ("val/loss", "val/retrieval_top1", "val/embedding_spread", "val/r2_hlr"):
        assert len(logged(tmp_path, key)) == 2, key  # validated after steps 2 and 4
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
