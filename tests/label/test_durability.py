"""A server killed with SIGKILL in the middle of a burst of labels loses none it acknowledged."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import httpx
import pytest

from helpers.labelling import CLASSES, serve

CONF = Path(__file__).resolve().parents[1] / "conf"
ACKNOWLEDGED_BEFORE_KILL = 150


@pytest.mark.timeout(600)
def test_sigkill_mid_burst_loses_no_acknowledged_label(tmp_path: Path, tiny_mae: Path) -> None:
    database = tmp_path / "labels.sqlite"
    arguments = ["--config", str(CONF / "label.yaml"), "--backbone", str(tiny_mae)]
    arguments += ["--database", str(database)]
    process, url = serve(arguments, tmp_path / "server.log")
    acknowledged: list[int] = []
    enough = threading.Event()

    def burst() -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            for step in range(100_000):
                row = step % 24
                body = {"row": row, "label": CLASSES[step % 2], "labeller": "ann"}
                try:
                    answer = client.post("/api/labels", json=body)
                except httpx.HTTPError:
                    return  # the server is gone
                if answer.status_code == 201:
                    acknowledged.append(answer.json()["id"])
                if len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL:
                    enough.set()

    sender = threading.Thread(target=burst)
    sender.start()
    assert enough.wait(120), "the burst never got going"
    process.kill()  # SIGKILL: no shutdown, no flush
    process.wait()
    sender.join(30)
    stored = {row[0] for row in sqlite3.connect(database).execute("SELECT id FROM labels")}
    assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL
    assert set(acknowledged) <= stored

    process, url = serve(arguments, tmp_path / "server.log")  # and the session resumes
    try:
        state = httpx.get(f"{url}/api/state").json()
        assert state["labels"] == 24
        assert state["version"] >= 1
    finally:
        process.kill()
        process.wait()
