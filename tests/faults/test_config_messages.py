"""A bad config or header value is reported in one line naming its file or key and the reason."""

from pathlib import Path

import pytest
from astropy.io import fits

from faults.refusal import refusal
from helpers.training import config_args, predict_folder, write_observed_fits


def fit(tmp_path: Path, *arguments: str) -> str:
    return refusal(["fit", *arguments, "--trainer.default_root_dir", str(tmp_path / "run")])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "trainer:\n  max_steps: [1, 2\n",
            "malformed YAML at line 3, column 1: expected ',' or ']'",
        ),
        ("trainer: {max_steps: 2\n", "malformed YAML at line 2, column 1: expected ',' or '}'"),
        ("", "empty config file"),
        ("# only a comment\n", "empty config file"),
        ("- trainer\n- model\n", "a config file maps keys to values"),
    ],
)
def test_a_broken_config_file_is_named_with_the_reason(text, expected, tmp_path):
    config = tmp_path / "mine.yaml"
    config.write_text(text)
    assert f"{config}: {expected}" in fit(tmp_path, *config_args("deconv"), "--config", str(config))


def test_an_interpolation_to_a_missing_key_names_both_keys(tmp_path):
    config = tmp_path / "mine.yaml"
    config.write_text("trainer:\n  max_steps: ${model.init_args.steps}\n")
    message = fit(tmp_path, *config_args("deconv"), "--config", str(config))
    assert "trainer.max_steps: Interpolation key 'model.init_args.steps' not found" in message


def test_a_misspelt_class_is_named_with_the_closest_one(tmp_path):
    config = tmp_path / "mine.yaml"
    config.write_text(
        "trainer:\n  callbacks+:\n    - class_path: galvision.callbacks.RestoredImageWritr\n"
    )
    assert (
        "trainer.callbacks: no class RestoredImageWritr in galvision.callbacks; "
        "did you mean galvision.callbacks.RestoredImageWriter?"
    ) in fit(tmp_path, *config_args("deconv"), "--config", str(config))


def test_a_negative_split_size_is_named_as_negative(tmp_path):
    message = fit(tmp_path, *config_args("deconv"), "--data.init_args.val_size", "-3")
    assert "val_size=-3" in message and "no training examples" not in message


@pytest.mark.parametrize(("value", "shown"), [("1.2 arcsec", "'1.2 arcsec'"), (-1.0, "-1.0")])
def test_an_invalid_psf_fwhm_header_is_not_reported_as_missing(value, shown, tiny_run, tmp_path):
    write_observed_fits(tmp_path / "observed", 1)
    path = tmp_path / "observed" / "galaxy0.fits"
    fits.setval(path, "PSF_FWHM", value=value)
    with pytest.raises(SystemExit) as exit_info:
        predict_folder("deconv", tiny_run / "checkpoints" / "last.ckpt", tmp_path / "out", path)
    assert f"{path}: header PSF_FWHM={shown} is not a positive number of arcsec" in str(
        exit_info.value.code
    )
