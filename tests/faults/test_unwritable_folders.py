"""Folders that cannot be written (outputs, logs, cache, benchmark results) are refused first."""

import os
from pathlib import Path

import pytest

from faults.refusal import refusal
from galvision.benchmark.report import write_report
from galvision.errors import ConfigError
from helpers.training import config_args


def probe_fails(folder: Path) -> bool:
    try:
        (folder / ".galvision-probe").touch()
    except OSError:
        return True
    (folder / ".galvision-probe").unlink()
    return False


@pytest.fixture(params=["file in the way", "no permission"])
def unwritable(request, tmp_path) -> Path:
    """A folder that cannot be created: a file stands in its path, or its parent is read-only."""
    if request.param == "file in the way":
        (tmp_path / "file").write_text("")
        return tmp_path / "file" / "out"
    if os.geteuid() == 0:  # root writes through permissions: use a read-only system folder
        if not probe_fails(Path("/sys")):
            pytest.skip(reason="no read-only folder to test with")
        return Path("/sys/galvision-out")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    return locked / "out"


def test_fit_refuses_an_unwritable_run_or_log_folder(unwritable, tmp_path):
    fit = ["fit", *config_args("deconv"), "--trainer.default_root_dir"]
    assert f"trainer.default_root_dir {unwritable}: " in refusal([*fit, str(unwritable)])
    # On the command line, init_args go to the last of the loggers: TensorBoard's.
    logs = ["--trainer.logger.init_args.save_dir", str(unwritable)]
    message = refusal([*fit, str(tmp_path / "run"), *logs])
    assert f"TensorBoardLogger save_dir {unwritable}: " in message


def test_an_unwritable_cache_is_refused(unwritable, tmp_path, monkeypatch):
    monkeypatch.setenv("GALVISION_CACHE", str(unwritable))
    message = refusal(["fit", *config_args("deconv"), "--trainer.default_root_dir", str(tmp_path)])
    assert f"cache folder {unwritable} (GALVISION_CACHE): cannot be created" in message


def test_benchmark_refuses_an_unwritable_output_before_any_work(unwritable, tmp_path):
    missing = tmp_path / "never-read.ckpt"
    arguments = ["benchmark", "deconv", "--ckpt", str(missing), "--output", str(unwritable)]
    assert f"--output {unwritable}: " in refusal(arguments)


def test_a_report_that_cannot_be_written_is_printed_first(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    stem = tmp_path / "file" / "table"
    with pytest.raises(ConfigError, match=r"cannot write the report .*printed above"):
        write_report([{"method": "Wiener", "psnr": 31.5}], ["method", "psnr"], stem, "Title")
    assert "| Wiener | 31.50 |" in capsys.readouterr().out
