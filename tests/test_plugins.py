import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from galvision import plugins
from galvision.cli import main
from helpers.training import config_args

PLUGIN_SRC = Path(__file__).parent / "plugin_example" / "src"


@pytest.fixture
def example_plugin(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN_SRC))
    entry = EntryPoint("example", "galvision_example_plugin", plugins.GROUP)
    broken = EntryPoint("broken", "no_such_module_anywhere", plugins.GROUP)
    monkeypatch.setattr(plugins, "entry_points", lambda group: [entry, broken])
    yield
    sys.modules.pop("galvision_example_plugin", None)


def test_plugins_load_and_a_broken_one_is_reported(example_plugin, caplog):
    assert plugins.load_plugins() == ["example"]
    assert "broken" in caplog.text


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
