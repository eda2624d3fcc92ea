"""Seeded, parallel and cached simulation of galaxy surveys and strong-lens fields."""

from galvision.data.simulate.cache import cache_dir
from galvision.data.simulate.classes import CLASS_NAMES
from galvision.data.simulate.config import SurveyConfig
from galvision.data.simulate.lens_config import OBJECT_KINDS, LensFieldConfig
from galvision.data.simulate.lens_fields import (
    cached_lens_fields,
    check_lens_fields_file,
    simulate_lens_fields,
)
from galvision.data.simulate.morphology import PARAMETERS, sample_morphology_parameters
from galvision.data.simulate.morphology_render import draw_morphology
from galvision.data.simulate.survey import cached_survey, check_survey_file, simulate_survey

__all__ = [
    "CLASS_NAMES",
    "OBJECT_KINDS",
    "PARAMETERS",
    "LensFieldConfig",
    "SurveyConfig",
    "cache_dir",
    "cached_lens_fields",
    "cached_survey",
    "check_lens_fields_file",
    "check_survey_file",
    "draw_morphology",
    "sample_morphology_parameters",
    "simulate_lens_fields",
    "simulate_survey",
]
