"""Shared fixtures: an isolated cache, tiny backbones, tiny simulated surveys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from helpers.training import fit_tiny

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


LAST = Path("checkpoints") / "last.ckpt"

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)  # one thread per worker: the workers share the cores


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test session simulates into its own cache, never the user's."""
    cache = tmp_path_factory.getbasetemp() / "galvision-cache"
    monkeypatch.setenv("GALVISION_CACHE", str(cache))
    return cache


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache directory of this test's own, for tests of the cache itself."""
    monkeypatch.setenv("GALVISION_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run directory of `galvision fit` on the tiny deconvolution config (4 steps)."""
    return fit_tiny(tmp_path_factory, "deconv", "tiny-run")


@pytest.fixture(scope="session")
def tiny_mae(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """last.ckpt of `galvision fit` on the tiny MAE pretraining config (4 steps)."""
    return fit_tiny(tmp_path_factory, "pretrain", "tiny-pretrain") / LAST


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """last.ckpt of `galvision fit` on the tiny morphology classification config."""
    return fit_tiny(tmp_path_factory, "classify", "tiny-classify") / LAST


@pytest.fixture(scope="session")
def tiny_aligner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """last.ckpt of `galvision fit` on the tiny tri-modal alignment config (4 steps)."""
    return fit_tiny(tmp_path_factory, "align", "tiny-align") / LAST


@pytest.fixture(scope="session")
def tiny_embeddings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shards of `galvision predict` on the tiny embedding config (an untrained 2-block ViT)."""
    root = fit_tiny(tmp_path_factory, "embed", "tiny-embed", "predict", "--untrained", "true")
    return root / "embeddings"


@pytest.fixture
def tiny_backbone_kwargs() -> dict:
    """A 2-block, 48-wide ViT on 32×32 stamps: fast enough for every unit test."""
    return {
        "name": "vit_tiny_r_s16_p8_224",
        "img_size": 32,
        "patch_size": 8,
        "model_kwargs": {"depth": 2, "embed_dim": 48, "num_heads": 2},
    }


@pytest.fixture(autouse=True)
def seeded() -> None:
    torch.manual_seed(0)
