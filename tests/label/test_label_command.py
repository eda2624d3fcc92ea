"""``galvision label``'s options: one-line refusals, and a warning off loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from galvision.cli import main
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
