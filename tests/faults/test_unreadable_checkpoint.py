"""An unreadable checkpoint (empty, text, random bytes, truncated) is refused in one line."""

import os
import shutil
from pathlib import Path

import pytest

from faults.refusal import refusal
from helpers.training import config_args


def damaged(kind: str, good: Path, folder: Path) -> Path:
    """A copy of the ``good`` checkpoint damaged as ``kind``."""
    contents = {
        "empty": b"",
        "text": b"checkpoint: last\n",
        "random": os.urandom(4096),
        "truncated": good.read_bytes()[: good.stat().st_size // 2],
    }
    path = folder / f"{kind}.ckpt"
    path.write_bytes(contents[kind])
    return path


@pytest.mark.parametrize("kind", ["empty", "text", "random", "truncated"])
def test_test_and_benchmark_name_the_unreadable_file(kind, tiny_run, tmp_path):
    ckpt = damaged(kind, tiny_run / "checkpoints" / "last.ckpt", tmp_path)
    test = ["test", *config_args("deconv"), "--trainer.default_root_dir", str(tmp_path)]
    message = refusal([*test, "--ckpt_path", str(ckpt)])
    assert f"--ckpt_path: {ckpt}: " in message
    assert "empty file" in message if kind == "empty" else "not a checkpoint" in message
    benchmark = ["benchmark", "deconv", "--ckpt", str(ckpt), "--output", str(tmp_path / "out")]
    assert f"{ckpt}: " in refusal(benchmark)


def test_resume_from_a_truncated_last_checkpoint_names_an_older_one(tiny_run, tmp_path):
    shutil.copytree(tiny_run / "checkpoints", tmp_path / "checkpoints")
    last = tmp_path / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:1000])
    (older,) = (tmp_path / "checkpoints").glob("step*-psnr*.ckpt")
    fit = ["fit", *config_args("deconv"), "--trainer.default_root_dir", str(tmp_path)]
    message = refusal([*fit, "--ckpt_path", "last"])
    assert f"--ckpt_path last: {last}: truncated" in message
    assert f"an older checkpoint reads fine: {older}" in message
