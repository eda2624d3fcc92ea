"""The service: validation, retraining every K labels, resuming, background retraining."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from galvision.label.session import (
    LabelError,
    LeasedElsewhereError,
    UnknownClassError,
    UnknownGalaxyError,
)
from helpers.labelling import CLASSES, toy_session


def label_page(session, truth: np.ndarray, labeller: str, count: int) -> list[int]:
    """Label one page as the truth says; the rows labelled."""
    rows = [galaxy["row"] for galaxy in session.next_page(labeller, count)]
    for row in rows:
        session.label(row, CLASSES[truth[row]], labeller)
    return rows


def test_refusals_name_the_culprit(tmp_path: Path) -> None:
    session, _ = toy_session(tmp_path / "labels.sqlite")
    with pytest.raises(UnknownGalaxyError, match="galaxy 60"):
        session.label(60, "smooth", "ann")
    with pytest.raises(UnknownClassError, match="'spiral'"):
        session.label(0, "spiral", "ann")
    row = session.next_page("ann", 1)[0]["row"]
    with pytest.raises(LeasedElsewhereError, match="ann"):
        session.label(row, "smooth", "bob")
    with pytest.raises(LabelError, match="strategy 'best'"):
        session.next_page("ann", 1, "best")


def test_learner_retrains_every_k_labels_and_learns(tmp_path: Path) -> None:
    session, truth = toy_session(tmp_path / "labels.sqlite", retrain_every=4)
    assert session.model.version == 0 and session.galaxy(0)["predicted"] is None
    label_page(session, truth, "ann", 3)
    assert session.model.version == 0
    label_page(session, truth, "ann", 5)
    assert session.model.version == 2
    predicted = [session.galaxy(row)["predicted"] for row in range(60)]
    assert np.mean([p == CLASSES[t] for p, t in zip(predicted, truth, strict=True)]) > 0.9
    history = session.state()["history"]
    assert [record["labels"] for record in history] == [4, 8]


def test_a_restarted_session_resumes_its_labels_and_learner(tmp_path: Path) -> None:
    session, truth = toy_session(tmp_path / "labels.sqlite")
    labelled = label_page(session, truth, "ann", 10)
    session.close()
    resumed, _ = toy_session(tmp_path / "labels.sqlite")
    assert resumed.state()["labels"] == 10
    assert resumed.model.learner is not None
    assert not {g["row"] for g in resumed.next_page("bob", 20)} & set(labelled)


def test_background_retraining_catches_up(tmp_path: Path) -> None:
    session, truth = toy_session(tmp_path / "labels.sqlite", background=True, retrain_every=2)
    label_page(session, truth, "ann", 12)
    session.wait()
    records = session.state()["history"]
    assert records[-1]["labels"] == 12  # the last retraining saw every label
    assert all(record["seconds"] < 30 for record in records)


def test_export_lists_standing_labels(tmp_path: Path) -> None:
    session, truth = toy_session(tmp_path / "labels.sqlite")
    rows = label_page(session, truth, "ann", 3)
    session.undo("ann")
    lines = session.export_csv().splitlines()
    assert lines[0] == "row,name,label,labeller,labelled_at,model_version"
    assert [int(line.split(",")[0]) for line in lines[1:]] == rows[:2]
