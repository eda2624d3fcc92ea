"""A tiny morphology survey with stored parameters, and the check that targets are stored ones."""

import h5py
import numpy as np
import torch

from galvision.data import keys
from galvision.data.datamodules import SurveyDataModule
from galvision.data.simulate import SurveyConfig
from galvision.tasks.parameters import ParameterTargets

NAMES = ["hlr", "q", "sersic_n", "arm_count", "bar_frac"]


def morphology_survey() -> SurveyDataModule:
    """24 simulated morphology galaxies of 32×32 serving ``mag_r`` and :data:`NAMES`, set up."""
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
    """The first validation batch."""
    return next(iter(data.val_dataloader()))


def assert_targets_are_stored(
    targets: ParameterTargets, standardised: torch.Tensor, data: SurveyDataModule, batch: dict
) -> None:
    """Targets are what the simulator stored (NaN where absent), standardised on the train set."""
    with h5py.File(data.datasets["val"].path, "r") as file:
        stored = np.stack([file["params"][name][...] for name in targets.names], axis=1)
    expected = stored[batch[keys.INDEX].numpy()]
    values = targets.values(standardised).detach().numpy()
    np.testing.assert_allclose(values, expected, rtol=1e-5)
    assert np.isnan(expected).any() and (np.isnan(values) == np.isnan(expected)).all()
    train = torch.from_numpy(stored[data.datasets["train"].indices]).double()
    torch.testing.assert_close(targets.mean, train.nanmean(0).float())
