"""`test` and `predict` refuse a model no checkpoint or weights trained, unless told otherwise."""

import pytest

from faults.refusal import refusal
from galvision.cli import main
from helpers.training import config_args, write_observed_fits


@pytest.mark.parametrize("verb", ["validate", "test", "predict"])
def test_no_checkpoint_and_no_weights_is_refused(verb, tmp_path):
    out = tmp_path / "out"
    message = refusal([verb, *config_args("deconv"), "--trainer.default_root_dir", str(out)])
    assert f"{verb}: no --ckpt_path and no backbone weights, so the model is untrained" in message
    assert "--untrained true" in message
    assert not out.exists()


def test_untrained_true_or_backbone_weights_let_it_run(tiny_mae, tmp_path):
    write_observed_fits(tmp_path / "observed", 2)
    observed = [
        "--data",
        "galvision.data.observed.ObservedImagesDataModule",
        "--data.path",
        str(tmp_path / "observed"),
        "--data.size",
        "32",
    ]
    out = tmp_path / "untrained"
    main(
        [
            "predict",
            *config_args("deconv"),
            "--trainer.default_root_dir",
            str(out),
            *observed,
            "--untrained",
            "true",
        ]
    )
    assert len(list((out / "restored").glob("*_restored.fits"))) == 2
    weights = ["--model.init_args.backbone.init_args.weights", str(tiny_mae)]
    out = tmp_path / "weights"
    main(
        [
            "predict",
            *config_args("deconv"),
            "--trainer.default_root_dir",
            str(out),
            *observed,
            *weights,
        ]
    )
    assert len(list((out / "restored").glob("*_restored.fits"))) == 2
