"""``galvision label``'s options: one-line refusals, and a warning off loopback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, SHARED_DATA
from galvision.benchmark.gz1_scores import SIM_TO_GZ1
from galvision.cli import main
from galvision.data.row_tables import dataset_labels
from galvision.embeddings.catalogue import load_datamodule
from galvision.label.command import is_loopback, open_session, parse_label_args

CONF = Path(__file__).resolve().parents[1] / "conf"


def run(capsys: pytest.CaptureFixture, *argv: str) -> str:
    """The one-line error ``galvision label`` exits with."""
    with pytest.raises(SystemExit) as exit_:
        main(["label", *argv])
    return str(exit_.value.code)


def test_unknown_key_and_bad_strategy_are_one_line(capsys, tmp_path: Path) -> None:
    config = tmp_path / "label.yaml"
    config.write_text(f"catalogue: {CONF / 'tiny_morphology.yaml'}\nclasses: [a, b]\ncolour: 3\n")
    message = run(capsys, "--config", str(config))
    assert message.startswith("galvision: error:") and "colour" in message
    assert "\n" not in message
    args = parse_label_args(["--config", str(CONF / "label.yaml"), "--strategy", "best"])
    with pytest.raises(Exception, match="strategy 'best' is not one of"):
        open_session(args)


def test_missing_backbone_names_the_file(capsys, tmp_path: Path) -> None:
    message = run(
        capsys,
        "--config",
        str(CONF / "label.yaml"),
        "--backbone",
        str(tmp_path / "nowhere.ckpt"),
        "--database",
        str(tmp_path / "labels.sqlite"),
    )
    assert "nowhere.ckpt" in message and "\n" not in message


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("0.0.0.0", False), ("a.b", False)],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_gz1_overlay_names_the_real_pool(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["label", "--config", str(REPO / "tasks" / "label.yaml"), "--config",
              str(REPO / "configs" / "overlays" / "label_gz1.yaml"), "--print_config"])  # fmt: skip
    assert exit_.value.code == 0
    printed = capsys.readouterr().out
    assert "gz1_pool.yaml" in printed and "- spiral" in printed


@pytest.mark.skipif(not (SHARED_DATA / "gz1_sdss_pool.h5").is_file(), reason="no shared GZ1 pool")
def test_gz1_pool_config_reads_the_imbalanced_pool() -> None:
    data = load_datamodule(REPO / "configs" / "data" / "gz1_pool.yaml")
    counts = np.bincount(dataset_labels(data.catalogue()), minlength=4)
    assert data.class_names == ["elliptical", "spiral", "edge_on", "merger"]
    assert counts.tolist() == [3895, 250, 548, 0]


def test_invariant_and_plain_embeddings_are_cached_apart(tiny_mae, tmp_path: Path) -> None:
    common = ["--config", str(CONF / "label.yaml"), "--backbone", str(tiny_mae)]
    pools = {}
    for invariant in ("true", "false"):
        database = str(tmp_path / f"{invariant}.sqlite")
        args = parse_label_args([*common, "--database", database, "--invariant", invariant])
        session = open_session(args)
        pools[invariant] = session.pool.embeddings
        session.close()
    assert len(list(tmp_path.glob("embeddings-*.npy"))) == 2
    assert not np.allclose(pools["true"], pools["false"], atol=1e-4)


def test_gz1_overlay_maps_the_simulated_classes_as_the_benchmarks_do() -> None:
    args = parse_label_args(
        ["--config", str(REPO / "tasks" / "label.yaml"),
         "--config", str(REPO / "configs" / "overlays" / "label_gz1.yaml")]
    )  # fmt: skip
    assert args.prior is None and args.prior_weight == 1.0
    assert args.prior_classes == SIM_TO_GZ1
