"""A toy pool of two separable classes, and `galvision label` served in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

from galvision.label.pool import Pool, unit_rows
from galvision.label.session import LabelSession, SessionSettings
from galvision.label.store import LabelStore

CLASSES = ["smooth", "featured"]
STARTUP_SECONDS = 180


def toy_pool(size: int = 60, dim: int = 8, seed: int = 0) -> tuple[Pool, np.ndarray]:
    """Two Gaussian clusters of unit embeddings with 8×8 pictures, and each row's class."""
    rng = np.random.default_rng(seed)
    truth = np.arange(size) % 2
    centres = np.eye(dim)[:2] * 4
    vectors = centres[truth] + rng.normal(size=(size, dim))
    pictures = rng.uniform(size=(size, 3, 8, 8)).astype(np.float32)
    names = [f"toy-{row}" for row in range(size)]
    return Pool(names, unit_rows(vectors), lambda rows: pictures[rows]), truth


def toy_session(database: Path, **settings) -> tuple[LabelSession, np.ndarray]:
    """A session over the toy pool, retraining in the foreground unless told otherwise."""
    pool, truth = toy_pool()
    settings = {"background": False, "retrain_every": 4} | settings
    store = LabelStore(database, CLASSES)
    return LabelSession(pool, CLASSES, store, SessionSettings(**settings)), truth


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(arguments: list[str], log: Path) -> tuple[subprocess.Popen, str]:
    """`galvision label` with ``arguments`` on a free loopback port, once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "galvision", "label", *arguments, "--port", str(port)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"galvision label exited: {log.read_text()[-2000:]}")
        try:
            httpx.get(f"{url}/api/state", timeout=2).raise_for_status()
            return process, url
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"galvision label did not answer: {log.read_text()[-2000:]}")
