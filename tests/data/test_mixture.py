"""Mixed surveys: samples of every preset collate, train in the stated shares, display as theirs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from galvision.data import keys
from galvision.data.datamodules import SurveyDataModule
from galvision.data.intensity import to_display
from galvision.data.mixture import MixedSurveyDataModule
from galvision.data.simulate import SurveyConfig
from galvision.data.simulate.presets import asinh_display_row, load_preset
from galvision.errors import ConfigError
from galvision.transforms.display import survey_display
from galvision.transforms.observation import Observe

SURVEYS = Path(__file__).resolve().parents[2] / "configs" / "survey"


def survey(preset: str, n: int, bands: tuple[str, ...] | None = None) -> SurveyDataModule:
    config = SurveyConfig(
        n_galaxies=n,
        stamp_size=32,
        n_psfs=4,
        psf_size=11,
        catalogue="morphology",
        mag_range=(16.0, 17.0),
        preset=load_preset(SURVEYS / f"{preset}.yaml"),
        bands=bands,
    )
    return SurveyDataModule(config, val_size=2, test_size=2, batch_size=4, num_workers=0)


@pytest.fixture(scope="module")
def mixed() -> MixedSurveyDataModule:
    data = MixedSurveyDataModule(
        [survey("decals", 12), survey("sdss", 24)], weights=[3.0, 1.0], batch_size=8, num_workers=0
    )
    data.prepare_data()
    data.setup("fit")
    return data


def test_batches_mixing_presets_collate_and_observe(mixed: MixedSurveyDataModule) -> None:
    test = mixed.datasets["test"]
    batch = torch.utils.data.default_collate([test[i] for i in range(len(test))])
    # DECaLS samples are shown in asinh (Q = 0), SDSS ones as Lupton RGB through JPEG.
    assert batch[keys.DISPLAY][:, 0].tolist() == [0.0, 0.0, 8.0, 8.0]
    assert batch[keys.NOISE_KERNEL].shape == (4, 1, 15, 15)
    assert batch[keys.INDEX].tolist() == [0, 1, 2, 3]
    observed = Observe()(batch, "test")
    assert torch.isfinite(observed[keys.IMAGE]).all()
    np.testing.assert_allclose(
        observed[keys.IMAGE][:2], to_display(observed[keys.OBSERVED][:2]), atol=1e-6
    )


def test_training_draws_each_survey_in_its_share(mixed: MixedSurveyDataModule) -> None:
    weights = mixed.sample_weights()
    decals = len(mixed.surveys[0].datasets["train"])
    assert weights[:decals].sum() == pytest.approx(0.75)
    assert weights[decals:].sum() == pytest.approx(0.25)
    batch = next(iter(mixed.train_dataloader()))
    assert batch[keys.IMAGE if keys.IMAGE in batch else keys.CLEAN].shape[0] == 8


def test_asinh_rows_display_like_galvision_and_lupton_rows_do_not() -> None:
    flux = torch.rand(2, 3, 8, 8) * 5
    lupton = torch.tensor([8.0, 0.8, 0.0, 2.0, 1.4, 1.3, 0.0, 0.0, 0.0])
    rows = torch.stack([asinh_display_row(3), lupton])
    shown = survey_display(flux, rows)
    torch.testing.assert_close(shown[0], to_display(flux[:1])[0])
    assert not torch.allclose(shown[1], to_display(flux[1:])[0])


def test_surveys_that_cannot_mix_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match=r"data.surveys differ in num_bands: \[3, 2\]"):
        MixedSurveyDataModule([survey("decals", 12), survey("decals", 12, bands=("g", "r"))])
    with pytest.raises(ConfigError, match=r"data.weights=\[1.0\] must give one"):
        MixedSurveyDataModule([survey("decals", 12), survey("sdss", 12)], weights=[1.0])
    with pytest.raises(ConfigError, match="at least one survey"):
        MixedSurveyDataModule([])
