"""Labels and leases in SQLite: each label committed the moment it is given, none ever deleted.

The database runs in WAL mode with ``synchronous=FULL`` and one transaction per label, so a
server killed at any instant keeps every label it acknowledged. An undo marks a label undone
rather than deleting it, and a new label for the same galaxy supersedes the old one: the table
is the full history of who said what, when, and which model version they were shown.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from galvision.errors import ConfigError

SCHEMA = """
CREATE TABLE IF NOT EXISTS labels (
    id INTEGER PRIMARY KEY,
    row INTEGER NOT NULL,
    label TEXT NOT NULL,
    labeller TEXT NOT NULL,
    labelled_at REAL NOT NULL,
    model_version INTEGER NOT NULL,
    predicted TEXT,
    undone_at REAL
);
CREATE INDEX IF NOT EXISTS labels_by_row ON labels (row);
CREATE TABLE IF NOT EXISTS leases (
    row INTEGER PRIMARY KEY,
    labeller TEXT NOT NULL,
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS models (
    version INTEGER PRIMARY KEY,
    labels INTEGER NOT NULL,
    accuracy REAL,
    agreement REAL,
    trained_at REAL NOT NULL,
    seconds REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# The label each galaxy holds now: its newest label that was not undone.
CURRENT = """
SELECT l.* FROM labels l
WHERE l.undone_at IS NULL AND l.id = (
    SELECT MAX(id) FROM labels WHERE row = l.row AND undone_at IS NULL
)
"""


@dataclass(frozen=True)
class Label:
    """One label as stored: galaxy row, class, who gave it, when, and the model they saw."""

    id: int
    row: int
    label: str
    labeller: str
    labelled_at: float
    model_version: int
    predicted: str | None


@dataclass(frozen=True)
class ModelRecord:
    """One retrained learner: labels it saw, its estimated accuracy, and the seconds it took."""

    version: int
    labels: int
    accuracy: float | None
    agreement: float | None
    trained_at: float
    seconds: float


class LabelStore:
    """The SQLite file of one labelling session, safe to share between threads."""

    def __init__(self, path: str | Path, classes: Sequence[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(SCHEMA)
        self._check_classes(list(classes))

    def _check_classes(self, classes: list[str]) -> None:
        """Refuse to resume a session whose labels name a class the configuration lost."""
        with self.transaction():
            known = {r[0] for r in self._db.execute("SELECT DISTINCT label FROM labels")}
            lost = sorted(known - set(classes))
            if lost:
                raise ConfigError(
                    f"classes: {self.path} holds labels of {', '.join(lost)}, which the "
                    f"configured classes {classes} lack; add them back or use a new database"
                )
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('classes', ?)", (",".join(classes),)
            )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken before reading so that check-then-write is atomic."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the database file."""
        with self._lock:
            self._db.close()

    # -- labels -----------------------------------------------------------------------------
    def add_label(
        self, row: int, label: str, labeller: str, model_version: int, predicted: str | None
    ) -> Label:
        """Store a label, committed before this returns, and release the galaxy's lease."""
        now = time.time()
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO labels (row, label, labeller, labelled_at, model_version, predicted)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (row, label, labeller, now, model_version, predicted),
            )
            db.execute("DELETE FROM leases WHERE row = ?", (row,))
        return Label(cursor.lastrowid, row, label, labeller, now, model_version, predicted)

    def undo_last(self, labeller: str) -> Label | None:
        """Mark ``labeller``'s newest standing label undone; None when there is none."""
        with self.transaction() as db:
            found = db.execute(
                "SELECT * FROM labels WHERE labeller = ? AND undone_at IS NULL "
                "ORDER BY id DESC LIMIT 1",
                (labeller,),
            ).fetchone()
            if found is None:
                return None
            db.execute("UPDATE labels SET undone_at = ? WHERE id = ?", (time.time(), found["id"]))
        return _label(found)

    def current_labels(self) -> list[Label]:
        """The standing label of every labelled galaxy, oldest first."""
        with self._lock:
            return [_label(r) for r in self._db.execute(CURRENT + " ORDER BY l.id")]

    def count(self) -> int:
        """How many galaxies hold a standing label."""
        with self._lock:
            return self._db.execute(f"SELECT COUNT(*) FROM ({CURRENT})").fetchone()[0]

    def labels_given(self) -> int:
        """How many labels were ever given, undone or superseded ones included."""
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM labels").fetchone()[0]

    # -- leases -----------------------------------------------------------------------------
    def lease(self, labeller: str, wanted: Iterator[int], count: int, seconds: float) -> list[int]:
        """Lease up to ``count`` galaxies to ``labeller``: those it holds, renewed, then the
        first of ``wanted`` that nobody labelled and nobody else holds. Atomic."""
        now = time.time()
        with self.transaction() as db:
            db.execute("DELETE FROM leases WHERE expires <= ?", (now,))
            labelled = {r[0] for r in db.execute("SELECT row FROM (" + CURRENT + ")")}
            held = {r[0]: r[1] for r in db.execute("SELECT row, labeller FROM leases")}
            mine = [row for row, who in held.items() if who == labeller and row not in labelled]
            chosen = sorted(mine)[:count]
            for row in wanted:
                if len(chosen) >= count:
                    break
                if row not in labelled and row not in held:
                    chosen.append(row)
            db.executemany(
                "INSERT OR REPLACE INTO leases VALUES (?, ?, ?)",
                [(row, labeller, now + seconds) for row in chosen],
            )
        return chosen

    def holder(self, row: int) -> str | None:
        """Who holds an unexpired lease on ``row``, if anyone."""
        with self._lock:
            found = self._db.execute(
                "SELECT labeller FROM leases WHERE row = ? AND expires > ?", (row, time.time())
            ).fetchone()
        return None if found is None else found[0]

    def release(self, labeller: str) -> None:
        """Give back every lease ``labeller`` holds."""
        with self.transaction() as db:
            db.execute("DELETE FROM leases WHERE labeller = ?", (labeller,))

    # -- models -----------------------------------------------------------------------------
    def add_model(self, record: ModelRecord) -> None:
        """Record one retrained learner."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO models VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.version,
                    record.labels,
                    record.accuracy,
                    record.agreement,
                    record.trained_at,
                    record.seconds,
                ),
            )

    def models(self) -> list[ModelRecord]:
        """Every learner trained in this session, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM models ORDER BY version").fetchall()
        return [ModelRecord(*row) for row in rows]


def _label(row: sqlite3.Row) -> Label:
    """A stored row as a Label."""
    return Label(
        row["id"],
        row["row"],
        row["label"],
        row["labeller"],
        row["labelled_at"],
        row["model_version"],
        row["predicted"],
    )
