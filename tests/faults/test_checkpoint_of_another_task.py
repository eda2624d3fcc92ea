"""A checkpoint of another task than the one configured is refused, naming both classes."""

import pytest

from faults.refusal import refusal
from helpers.training import config_args


@pytest.mark.parametrize("verb", ["predict", "test"])
def test_cli_refuses_a_checkpoint_of_another_task(verb, tiny_run, tiny_mae, tmp_path):
    runs = [
        ("deconv", tiny_mae, "MaskedAutoencoderTask", "DeconvolutionTask"),
        (
            "reconstruct",
            tiny_run / "checkpoints" / "last.ckpt",
            "DeconvolutionTask",
            "ReconstructionTask",
        ),
    ]
    for config, ckpt, stored, configured in runs:
        out = tmp_path / config
        message = refusal(
            [
                verb,
                *config_args(config),
                "--trainer.default_root_dir",
                str(out),
                "--ckpt_path",
                str(ckpt),
            ]
        )
        assert (
            f"{ckpt}: a {stored} checkpoint, where the config (model) expects a {configured}"
            in message
        )
        assert not out.exists()


def test_benchmarks_refuse_a_checkpoint_of_another_task(tiny_run, tiny_mae, tmp_path):
    deconv = str(tiny_run / "checkpoints" / "last.ckpt")
    output = ["--output", str(tmp_path)]
    cases = [
        (
            ["deconv", "--ckpt", str(tiny_mae)],
            "a MaskedAutoencoderTask checkpoint, where this command expects a DeconvolutionTask",
        ),
        (
            ["reconstruct", "--ckpt", deconv],
            "a DeconvolutionTask checkpoint, where this command expects a ReconstructionTask",
        ),
        (
            ["classify", "--foundation", str(tmp_path / "missing.ckpt")],
            f"--foundation {tmp_path / 'missing.ckpt'}: backbone weights",
        ),
    ]
    for arguments, expected in cases:
        assert expected in refusal(["benchmark", *arguments, *output])
    assert not any(tmp_path.iterdir())
