"""What the galvision command says about itself: help, version, ``python -m galvision``."""

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from galvision.benchmark.command import BENCHMARKS
from galvision.cli import main

SRC = Path(__file__).resolve().parents[1] / "src"


def run_main(args: list[str], capsys: pytest.CaptureFixture) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_help_lists_the_trainer_commands_and_every_benchmark(capsys):
    out = run_main(["--help"], capsys)
    assert out.startswith("usage: galvision ")
    assert "{fit,validate,test,predict}" in out
    listed = out.split("\nbenchmark: ", 1)[1].splitlines()
    for name, (_, text) in BENCHMARKS.items():
        assert any(line.split() == [name, *text.split()] for line in listed), name


def test_version_is_the_installed_package_version(capsys):
    assert run_main(["--version"], capsys) == f"galvision {version('galvision')}\n"


def test_python_dash_m_galvision_runs_the_command():
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, "-m", "galvision", "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"galvision {version('galvision')}\n"


def test_a_benchmark_imports_only_its_own_module():
    probe = (
        "import sys\n"
        "from galvision.benchmark.command import build_parser\n"
        "build_parser('multitask').parse_args(['multitask'])\n"
        "print(sorted(sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "'galvision.benchmark.multitask'" in result.stdout
    assert "'galvision.benchmark.speed'" not in result.stdout
    assert "'faiss'" not in result.stdout  # only search, outliers and speed need FAISS
