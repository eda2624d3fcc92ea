"""Fixtures of the task tests: a tiny morphology survey with stored parameters."""

import pytest

from galvision.data.datamodules import SurveyDataModule
from helpers.parameters import morphology_survey


@pytest.fixture(scope="module")
def survey() -> SurveyDataModule:
    return morphology_survey()
