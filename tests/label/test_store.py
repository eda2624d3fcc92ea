"""Labels survive reopening, undo keeps history, leases are exclusive until they expire."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from galvision.errors import ConfigError
from galvision.label.store import LabelStore

CLASSES = ["smooth", "featured"]


def test_labels_persist_and_the_newest_stands(tmp_path: Path) -> None:
    store = LabelStore(tmp_path / "labels.sqlite", CLASSES)
    store.add_label(3, "smooth", "ann", 0, None)
    store.add_label(3, "featured", "bob", 1, "smooth")
    store.add_label(5, "smooth", "ann", 1, "smooth")
    store.close()
    reopened = LabelStore(tmp_path / "labels.sqlite", CLASSES)
    standing = {label.row: (label.label, label.labeller) for label in reopened.current_labels()}
    assert standing == {3: ("featured", "bob"), 5: ("smooth", "ann")}
    assert reopened.labels_given() == 3


def test_undo_restores_the_label_before(tmp_path: Path) -> None:
    store = LabelStore(tmp_path / "labels.sqlite", CLASSES)
    store.add_label(3, "smooth", "ann", 0, None)
    store.add_label(3, "featured", "ann", 0, None)
    undone = store.undo_last("ann")
    assert (undone.row, undone.label) == (3, "featured")
    assert [label.label for label in store.current_labels()] == ["smooth"]
    assert store.undo_last("bob") is None
    assert store.labels_given() == 2  # nothing deleted


def test_a_lost_class_is_refused_on_reopening(tmp_path: Path) -> None:
    LabelStore(tmp_path / "labels.sqlite", CLASSES).add_label(1, "featured", "ann", 0, None)
    with pytest.raises(ConfigError, match="featured"):
        LabelStore(tmp_path / "labels.sqlite", ["smooth", "artefact"])


def test_leases_are_exclusive_renewed_and_expire(tmp_path: Path) -> None:
    store = LabelStore(tmp_path / "labels.sqlite", CLASSES)
    ann = store.lease("ann", iter(range(10)), 3, seconds=0.5)
    bob = store.lease("bob", iter(range(10)), 3, seconds=60)
    assert ann == [0, 1, 2] and bob == [3, 4, 5]
    assert store.lease("ann", iter(range(10)), 3, seconds=0.5) == [0, 1, 2]  # renewed
    assert store.holder(1) == "ann"
    store.add_label(1, "smooth", "ann", 0, None)
    assert store.holder(1) is None
    time.sleep(0.6)
    assert store.lease("cat", iter(range(10)), 3, seconds=60) == [0, 2, 6]
