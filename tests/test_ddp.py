"""Two-process DDP on CPU (gloo): both ranks train, the simulation cache is written once."""

import re

import pytest
import torch

from helpers.training import two_process_fit


@pytest.mark.slow
def test_fit_with_two_cpu_processes(tmp_path, isolated_cache):
    cache = tmp_path / "cache"
    result = two_process_fit(
        "deconv",
        tmp_path / "run",
        "--trainer.callbacks+=helpers.rank_marker.RankMarker",
        "--trainer.callbacks.directory",
        str(tmp_path / "ranks"),
        env={"GALVISION_CACHE": str(cache)},
    )
    assert result.returncode == 0, result.stderr[-3000:]

    markers = {p.name: p.read_text().split() for p in (tmp_path / "ranks").glob("rank-*.txt")}
    assert markers == {"rank-0.txt": ["4", "2"], "rank-1.txt": ["4", "2"]}
    surveys = list(cache.glob("survey-*.h5"))
    assert len(surveys) == 1
    assert not list(cache.glob("*.partial*"))
    # One simulation: its progress bar starts (at 0 %) once, in one of the two processes.
    assert len(re.findall(r"simulating galaxies:\s+0%", result.stderr)) == 1
    checkpoint = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["global_step"] == 4
