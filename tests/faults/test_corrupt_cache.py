"""A cache file whose contents changed after it was written is detected, named and rebuilt."""

import logging
from pathlib import Path

import h5py
import numpy as np
import pytest

from galvision.cli import main
from galvision.data.simulate import SurveyConfig, cached_survey
from galvision.data.simulate.survey import check_survey_file
from galvision.errors import DataError
from helpers.training import config_args

# The survey of tests/conf/deconv.yaml.
SURVEY = SurveyConfig(n_galaxies=24, seed=0, stamp_size=32, n_psfs=4, psf_size=15)


def damage_in_place(path: Path, row: int) -> None:
    """Invert the bytes of one stored galaxy, keeping the file's size and structure."""
    with h5py.File(path, "r") as file:
        chunk = file["clean"].id.get_chunk_info(row)
    with path.open("r+b") as handle:
        handle.seek(chunk.byte_offset)
        data = handle.read(chunk.size)
        handle.seek(chunk.byte_offset)
        handle.write(bytes(255 - b for b in data))


def read_clean(path: Path) -> np.ndarray:
    with h5py.File(path, "r") as file:
        return file["clean"][()]


def test_damaged_contents_are_named_and_rebuilt(fresh_cache, caplog):
    path = cached_survey(SURVEY, workers=1, progress=False)
    original, size = read_clean(path), path.stat().st_size
    damage_in_place(path, row=5)
    assert path.stat().st_size == size
    with pytest.raises(DataError, match=rf"{path}: dataset '/clean' fails its checksum"):
        check_survey_file(path, SURVEY)
    with caplog.at_level(logging.WARNING):
        assert cached_survey(SURVEY, workers=1, progress=False) == path
    assert f"Discarding cached file {path}: dataset '/clean'" in caplog.text
    np.testing.assert_array_equal(read_clean(path), original)


def test_fit_on_a_damaged_cache_rebuilds_it_first(fresh_cache, tmp_path, caplog):
    path = cached_survey(SURVEY, workers=1, progress=False)
    damage_in_place(path, row=0)
    with caplog.at_level(logging.WARNING):
        main(
            [
                "fit",
                *config_args("deconv"),
                "--trainer.max_steps",
                "1",
                "--trainer.default_root_dir",
                str(tmp_path),
            ]
        )
    assert f"Discarding cached file {path}" in caplog.text
    check_survey_file(path, SURVEY)
