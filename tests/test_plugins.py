import os
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from galvision import plugins
from galvision.cli import main
from helpers.training import config_args

PLUGIN = Path(__file__).parent / "plugin_example"


@pytest.fixture
def example_plugin(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN / "src"))
    entry = EntryPoint("example", "galvision_example_plugin", plugins.GROUP)
    broken = EntryPoint("broken", "no_such_module_anywhere", plugins.GROUP)
    monkeypatch.setattr(plugins, "entry_points", lambda group: [entry, broken])
    yield
    sys.modules.pop("galvision_example_plugin", None)


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory) -> Path:
    """The example plugin pip-installed into a folder of its own, entry point and all."""
    target = tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "--target", str(target), str(PLUGIN)], check=True, capture_output=True)
    return target


def test_plugins_load_and_a_broken_one_is_reported(example_plugin, caplog):
    assert plugins.load_plugins() == ["example"]
    assert "broken" in caplog.text


def test_installed_plugin_is_found_through_its_entry_point(installed_plugin, tmp_path):
    """A head from an outside package trains through --model.init_args.head, by short name."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed_plugin), *sys.path])}
    command = [
        sys.executable,
        "-m",
        "galvision",
        "fit",
        *config_args("deconv"),
        "--model",
        "NonNegativeDeconvolutionTask",
        "--model.init_args.head",
        "UpsamplingHead",
        "--model.init_args.head.init_args.width",
        "8",
        "--trainer.max_steps",
        "2",
        "--trainer.default_root_dir",
        str(tmp_path),
    ]
    run = subprocess.run(command, env=environment, capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    config = (tmp_path / "logs" / "version_0" / "config.yaml").read_text()
    assert "galvision_example_plugin.NonNegativeDeconvolutionTask" in config
    assert "galvision_example_plugin.UpsamplingHead" in config
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()


def test_plugin_task_resolves_by_short_class_name(example_plugin, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "fit",
                *config_args("deconv"),
                "--model",
                "NonNegativeDeconvolutionTask",
                "--model.negativity_weight",
                "2.5",
                "--print_config",
            ]
        )
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    assert "galvision_example_plugin.NonNegativeDeconvolutionTask" in printed
    assert "negativity_weight: 2.5" in printed
