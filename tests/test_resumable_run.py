"""Benchmark runs are read back only while their arguments and resolved configuration hold."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from galvision.benchmark import training
from galvision.tasks import MultiTask
from helpers.training import CONF, DRAWN, task_config


@pytest.fixture
def counted_fits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Replace training by a counter: each 'fit' returns its own call number as a metric."""
    calls: list[int] = []

    def fake_fit(cli, seed: int) -> dict[str, float]:
        calls.append(seed)
        return {"test/psnr": float(len(calls))}

    monkeypatch.setattr(training, "fit_and_test", fake_fit)
    return calls


def test_finished_run_is_read_back_until_a_config_file_changes(
    tmp_path: Path, counted_fits: list[int]
) -> None:
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text((CONF / "tiny_survey.yaml").read_text().replace("seed: 0", "seed: 3"))
    config = [*task_config("deconv"), tmp_path / "data.yaml"]
    (tmp_path / "data.yaml").write_text(f"data: {overlay}\n")
    first = training.resumable_run(config, tmp_path / "run", 2, 0, [])
    again = training.resumable_run(config, tmp_path / "run", 2, 0, [])
    assert first == again == {"test/psnr": 1.0} and len(counted_fits) == 1
    stored = json.loads((tmp_path / "run" / training.RESULT_FILE).read_text())
    assert len(stored["configuration"]) == 16
    # The same arguments, but an included file says something else: trained again.
    overlay.write_text(overlay.read_text().replace("seed: 3", "seed: 4"))
    changed = training.resumable_run(config, tmp_path / "run", 2, 0, [])
    assert changed == {"test/psnr": 2.0} and len(counted_fits) == 2
    assert training.resumable_run(config, tmp_path / "run", 3, 0, []) == {"test/psnr": 3.0}


def test_the_same_configuration_by_other_arguments_is_read_back(
    tmp_path: Path, counted_fits: list[int]
) -> None:
    run = tmp_path / "run"
    first = training.resumable_run(task_config("deconv"), run, 2, 0, [])
    restated = tmp_path / "restated.yaml"  # an overlay saying what the config already says
    restated.write_text("trainer:\n  max_steps: 2\n")
    config = [*task_config("deconv"), restated]
    assert training.resumable_run(config, run, 2, 0, []) == first and len(counted_fits) == 1
    # A result written before digests were kept is read back only on its own arguments.
    stored = json.loads((run / training.RESULT_FILE).read_text())
    del stored["configuration"]
    (run / training.RESULT_FILE).write_text(json.dumps(stored))
    assert training.resumable_run(task_config("deconv"), run, 2, 0, []) == first
    assert training.resumable_run(config, run, 2, 0, []) == {"test/psnr": 2.0}


def test_a_later_argument_at_its_default_leaves_the_digest_alone(tmp_path: Path) -> None:
    def configured(*extra: str):  # drawn steps: every later argument at its default
        return training.configure([*task_config("multitask"), DRAWN], tmp_path, 2, 0, list(extra))

    shipped = configured()
    digest = training.configuration_digest(shipped)
    assert shipped.config.model.init_args.optimizer_state == "shared"  # the config stays whole
    assert shipped.config.model.init_args.task_norms is False
    # The digest of the same run as written before MultiTask had the arguments.
    before = shipped.config.clone()
    for later in MultiTask.later_arguments:
        del before.model.init_args[later]
    text = shipped.parser.dump(before, skip_validation=True)
    assert digest == hashlib.sha256(text.encode()).hexdigest()[:16]
    per_task = configured("--model.init_args.optimizer_state", "per_task")
    assert training.configuration_digest(per_task) != digest
    task_norms = configured("--model.init_args.task_norms", "true")
    assert training.configuration_digest(task_norms) != digest
    adapters = configured("--model.init_args.adapter_rank", "4")
    assert training.configuration_digest(adapters) != digest
    every_task = configured("--model.init_args.tasks_per_step", "all")
    assert training.configuration_digest(every_task) != digest
