"""Seconds from a label to rescored galaxies, through the web app as a browser meets it."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from galvision.benchmark.active_runs import ORACLE
from galvision.benchmark.active_sets import Split
from galvision.label.app import create_app
from galvision.label.pool import Pool
from galvision.label.session import LabelSession, SessionSettings
from galvision.label.store import LabelStore

ROUNDS = 8
POLL_SECONDS = 0.005
PATIENCE_SECONDS = 60.0


def measure_latency(pool: Split, classes: list[str], page: int) -> dict[str, float]:
    """Median and largest seconds from the label that completes a page to the page's new
    scores being served (background retraining over the whole pool), over whole pages."""
    seconds = []
    with tempfile.TemporaryDirectory() as folder:
        store = LabelStore(Path(folder) / "labels.sqlite", classes)
        session = LabelSession(
            Pool(pool.names, pool.embeddings, pictures=None),
            classes,
            store,
            SessionSettings("hybrid", retrain_every=page, background=True),
        )
        with TestClient(create_app(session)) as client:
            for _ in range(min(ROUNDS, len(pool.rows) // page)):
                before = client.get("/api/state").json()["version"]
                shown = client.get("/api/next", params={"labeller": ORACLE, "count": page}).json()
                for galaxy in shown:
                    label = classes[pool.labels[galaxy["row"]]]
                    body = {"row": galaxy["row"], "label": label, "labeller": ORACLE}
                    client.post("/api/labels", json=body).raise_for_status()
                labelled = time.perf_counter()
                while client.get("/api/state").json()["version"] == before:
                    if time.perf_counter() - labelled > PATIENCE_SECONDS:
                        raise TimeoutError("the learner did not retrain within a minute")
                    time.sleep(POLL_SECONDS)
                client.get(f"/api/galaxies/{shown[0]['row']}").raise_for_status()
                seconds.append(time.perf_counter() - labelled)
        session.close()
    return {"median": statistics.median(seconds), "max": max(seconds), "pool": len(pool.rows)}
