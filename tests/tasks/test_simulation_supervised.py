"""SimulationSupervisedTask: targets are the simulator's stored parameters, NaN left out."""

import pytest
import torch

from galvision.backbones import Backbone
from galvision.errors import ConfigError
from galvision.tasks import SimulationSupervisedTask
from galvision.tasks.parameters import ParameterTargets
from galvision.transforms import Observe
from helpers.batches import prepare
from helpers.parameters import NAMES, assert_targets_are_stored, first_batch
from helpers.training import losses_over_steps


def test_targets_are_what_the_simulator_stored_with_nan_where_absent(survey, tiny_backbone_kwargs):
    task = SimulationSupervisedTask(Backbone(**tiny_backbone_kwargs), parameters=NAMES)
    task.targets.check_data(survey, "fit")
    batch = first_batch(survey)
    standardised = task.targets.of_batch(batch, "test")
    assert_targets_are_stored(task.targets, standardised, survey, batch)


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
