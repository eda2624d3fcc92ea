"""Seeded, parallel and cached GalSim simulation of a galaxy survey."""

from galvision.data.simulate.cache import cache_dir, cached_survey, check_survey_file
from galvision.data.simulate.classes import CLASS_NAMES
from galvision.data.simulate.config import SurveyConfig
from galvision.data.simulate.morphology import PARAMETERS, sample_morphology_parameters
from galvision.data.simulate.morphology_render import draw_morphology
from galvision.data.simulate.survey import simulate_survey

__all__ = [
    "CLASS_NAMES",
    "PARAMETERS",
    "SurveyConfig",
    "cache_dir",
    "cached_survey",
    "check_survey_file",
    "draw_morphology",
    "sample_morphology_parameters",
    "simulate_survey",
]
