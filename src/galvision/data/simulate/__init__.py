"""Seeded, parallel and cached GalSim simulation of a galaxy survey."""

from galvision.data.simulate.cache import cache_dir, cached_survey, check_survey_file
from galvision.data.simulate.config import SurveyConfig
from galvision.data.simulate.survey import simulate_survey

__all__ = ["SurveyConfig", "cache_dir", "cached_survey", "check_survey_file", "simulate_survey"]
