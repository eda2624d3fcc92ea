"""SimulationSupervisedTask: targets are the simulator's stored parameters, NaN left out."""

import h5py
import numpy as np
import pytest
import torch

from galvision.backbones import Backbone
from galvision.data import keys
from galvision.data.datamodules import SurveyDataModule
from galvision.data.simulate import SurveyConfig
from galvision.errors import ConfigError
from galvision.tasks import SimulationSupervisedTask
from galvision.tasks.parameters import ParameterTargets
from galvision.transforms import Observe
from helpers.batches import prepare
from helpers.training import losses_over_steps

NAMES = ["hlr", "q", "sersic_n", "arm_count", "bar_frac"]


@pytest.fixture(scope="module")
def survey() -> SurveyDataModule:
    config = SurveyConfig(
        n_galaxies=24, stamp_size=32, n_psfs=4, psf_size=15, mag_range=(15.5, 19),
        catalogue="morphology",
    )  # fmt: skip
    data = SurveyDataModule(
        config, val_size=4, test_size=4, stored_parameters=["mag_r", *NAMES], batch_size=8,
        simulation_workers=1, num_workers=0,
    )  # fmt: skip
    data.setup("fit")
    return data


def first_batch(data: SurveyDataModule) -> dict:
    return next(iter(data.val_dataloader()))


def test_targets_are_what_the_simulator_stored_with_nan_where_absent(survey, tiny_backbone_kwargs):
    task = SimulationSupervisedTask(Backbone(**tiny_backbone_kwargs), parameters=NAMES)
    task.targets.check_data(survey, "fit")
    batch = first_batch(survey)
    with h5py.File(survey.datasets["val"].path, "r") as file:
        stored = np.stack([file["params"][name][...] for name in NAMES], axis=1)
    expected = stored[batch[keys.INDEX].numpy()]
    targets = task.targets.values(task.targets.standardise(batch[keys.PARAMS])).numpy()
    np.testing.assert_allclose(targets, expected, rtol=1e-5)
    assert np.isnan(expected).any() and (np.isnan(targets) == np.isnan(expected)).all()
    # Standardised with the training galaxies' statistics.
    train = torch.from_numpy(stored[survey.datasets["train"].indices]).double()
    torch.testing.assert_close(task.targets.mean, train.nanmean(0).float())


def test_undefined_parameters_add_nothing_to_the_loss():
    predicted = torch.tensor([[1.0, 5.0], [0.0, 2.0]])
    target = torch.tensor([[0.0, float("nan")], [0.0, 0.0]])
    expected = (1.0 + 0.0 + 4.0) / 3
    assert ParameterTargets.loss(predicted, target).item() == pytest.approx(expected)


def test_a_few_steps_reduce_the_loss(survey, tiny_backbone_kwargs):
    task = SimulationSupervisedTask(
        Backbone(**tiny_backbone_kwargs), parameters=NAMES, transforms=[Observe()]
    )
    task.targets.check_data(survey, "fit")
    batch = prepare(task, first_batch(survey), "val")
    losses = losses_over_steps(task, batch, steps=20)
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (["hlr", "label"], "'label' is a class label"),
        (["position_angle"], "'position_angle' changes when RandomDihedral turns"),
        (["hlr", "hlr"], "repeats a parameter"),
    ],
)
def test_parameters_that_would_leak_labels_or_break_augmentation_are_refused(
    tiny_backbone_kwargs, parameters, message
):
    with pytest.raises(ConfigError, match=message):
        SimulationSupervisedTask(Backbone(**tiny_backbone_kwargs), parameters=parameters)


def test_parameters_the_data_do_not_serve_are_named(survey, tiny_backbone_kwargs):
    task = SimulationSupervisedTask(Backbone(**tiny_backbone_kwargs), parameters=["bar_length"])
    with pytest.raises(ConfigError, match=r"\['bar_length'\] are not among"):
        task.targets.check_data(survey, "fit")
