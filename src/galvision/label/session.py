"""The labelling service: pages of galaxies to label, labels and undo, and the learner retrained
in the background. The web app and the active-learning benchmark's oracle both go through it.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from galvision.errors import GalvisionError
from galvision.label.acquisition import STRATEGIES, PoolState, rank
from galvision.label.learner import FittedLearner, estimated_accuracy, fit_learner
from galvision.label.pool import Pool
from galvision.label.prior import with_prior
from galvision.label.store import Label, LabelStore, ModelRecord


class LabelError(GalvisionError):
    """A request the session refuses; ``status`` is its HTTP status code."""

    status = 400


class UnknownGalaxyError(LabelError):
    """A row the catalogue does not have."""

    status = 404


class UnknownClassError(LabelError):
    """A label naming a class the configuration does not."""

    status = 422


class LeasedElsewhereError(LabelError):
    """A galaxy another labeller holds a lease on."""

    status = 409


class NothingToUndoError(LabelError):
    """An undo from a labeller with no standing label."""

    status = 404


@dataclass(frozen=True)
class Model:
    """One version of the learner and its scores of every galaxy (None before the first)."""

    version: int
    learner: FittedLearner | None
    probabilities: np.ndarray | None
    accuracy: float | None


@dataclass(frozen=True)
class SessionSettings:
    """How a session picks and learns: strategy, page size, retraining and lease periods, and
    the weight of the pool's prior against the learner."""

    strategy: str = "kcentre"
    retrain_every: int = 5
    lease_seconds: float = 300.0
    seed: int = 0
    background: bool = True
    prior_weight: float = 1.0

    def __post_init__(self) -> None:
        check_strategy(self.strategy)
        if self.retrain_every < 1:
            raise LabelError(f"retrain_every={self.retrain_every} must be at least 1")
        if self.lease_seconds <= 0:
            raise LabelError(f"lease_seconds={self.lease_seconds} must be positive")
        if self.prior_weight < 0:
            raise LabelError(f"prior_weight={self.prior_weight} must not be negative")


def check_strategy(strategy: str) -> str:
    """``strategy``, refused unless it is one the session knows."""
    if strategy not in STRATEGIES:
        raise LabelError(f"strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
    return strategy


class LabelSession:
    """Labels of one pool into one store, with a learner that follows them."""

    def __init__(
        self, pool: Pool, classes: Sequence[str], store: LabelStore, settings: SessionSettings
    ) -> None:
        if len(set(classes)) != len(classes) or len(classes) < 2:
            raise LabelError(f"classes {list(classes)}: need at least two distinct names")
        if pool.prior is not None and pool.prior.shape != (len(pool), len(classes)):
            raise LabelError(
                f"prior of shape {pool.prior.shape}: want one row per galaxy ({len(pool)}) and "
                f"a column per class ({len(classes)})"
            )
        self.pool, self.classes, self.store, self.settings = pool, list(classes), store, settings
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="retrain")
        self._lock = threading.Lock()
        self._retraining: Future | None = None
        self._rerun = False
        self._since_retrain = 0
        self._asked_at: float | None = None
        self._seen = 0  # the newest label id the last retraining saw
        history = store.models()
        self.model = Model(history[-1].version if history else 0, None, pool.prior, None)
        if store.count():
            self.retrain()  # resume: the learner of the labels already given

    # -- reading ---------------------------------------------------------------------------
    def galaxy(self, row: int) -> dict:
        """A galaxy as the page shows it: row, name, the learner's class and its probability."""
        self.check_row(row)
        model, found = self.model, {"row": row, "name": self.pool.names[row]}
        if model.probabilities is None:
            return found | {"predicted": None, "score": None}
        best = int(np.argmax(model.probabilities[row]))
        return found | {
            "predicted": self.classes[best],
            "score": round(float(model.probabilities[row, best]), 4),
        }

    def check_row(self, row: int) -> None:
        """Refuse a row the pool does not have."""
        if not 0 <= row < len(self.pool):
            raise UnknownGalaxyError(
                f"galaxy {row}: the catalogue has rows 0 to {len(self.pool) - 1}"
            )

    def next_page(self, labeller: str, count: int, strategy: str | None = None) -> list[dict]:
        """Up to ``count`` galaxies leased to ``labeller``, chosen by ``strategy``."""
        model = self.model
        labelled = np.array(sorted(label.row for label in self.store.current_labels()), int)
        state = PoolState(
            self.pool.embeddings, model.probabilities, labelled, self.settings.seed + model.version
        )
        wanted = rank(check_strategy(strategy or self.settings.strategy), state, count)
        rows = self.store.lease(labeller, wanted, count, self.settings.lease_seconds)
        return [self.galaxy(row) for row in rows]

    def state(self) -> dict:
        """Counts, the learner's version and history, for the page's header and plot."""
        labels = self.store.current_labels()
        counts = {name: 0 for name in self.classes}
        for label in labels:
            counts[label.label] += 1
        return {
            "classes": self.classes,
            "size": len(self.pool),
            "labels": len(labels),
            "counts": counts,
            "version": self.model.version,
            "accuracy": self.model.accuracy,
            "training": self._retraining is not None and not self._retraining.done(),
            "strategy": self.settings.strategy,
            "strategies": list(STRATEGIES),
            "history": [vars(record) for record in self.store.models()],
        }

    def export_csv(self) -> str:
        """The standing labels as CSV: row, name, label, labeller, time, model version."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["row", "name", "label", "labeller", "labelled_at", "model_version"])
        for label in self.store.current_labels():
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(label.labelled_at))
            name, version = self.pool.names[label.row], label.model_version
            writer.writerow([label.row, name, label.label, label.labeller, when, version])
        return out.getvalue()

    # -- writing ---------------------------------------------------------------------------
    def label(self, row: int, label: str, labeller: str) -> Label:
        """Store a label (committed before this returns) and retrain every ``retrain_every``."""
        self.check_row(row)
        if label not in self.classes:
            raise UnknownClassError(f"label {label!r} is not one of the classes {self.classes}")
        holder = self.store.holder(row)
        if holder is not None and holder != labeller:
            raise LeasedElsewhereError(f"galaxy {row} is being labelled by {holder}")
        predicted = self.galaxy(row)["predicted"]
        stored = self.store.add_label(row, label, labeller, self.model.version, predicted)
        self._count_change()
        return stored

    def undo(self, labeller: str) -> Label:
        """Take back ``labeller``'s newest standing label."""
        undone = self.store.undo_last(labeller)
        if undone is None:
            raise NothingToUndoError(f"{labeller} has no label to undo")
        self._count_change()
        return undone

    def _count_change(self) -> None:
        """Retrain once ``retrain_every`` changes have come in since the last retraining."""
        with self._lock:
            self._since_retrain += 1
            if self._since_retrain < self.settings.retrain_every:
                return
            self._since_retrain = 0
            if self._asked_at is None:
                self._asked_at = time.time()
        if not self.settings.background:
            self.retrain()
            return
        with self._lock:
            if self._retraining is not None and not self._retraining.done():
                self._rerun = True
                return
            self._retraining = self._executor.submit(self._retrain_in_background)

    def _retrain_in_background(self) -> None:
        """Retrain until no change arrived during the last retraining."""
        while True:
            self.retrain()
            with self._lock:
                if not self._rerun:
                    return
                self._rerun = False

    def retrain(self) -> Model:
        """Fit the learner to every standing label and swap in its scores."""
        started = time.time()
        with self._lock:
            asked_at, self._asked_at = self._asked_at, None
        labels = self.store.current_labels()
        rows = np.array([label.row for label in labels], dtype=int)
        targets = np.array([self.classes.index(label.label) for label in labels], dtype=int)
        features = self.pool.embeddings[rows]
        seed = self.settings.seed
        learner = fit_learner(features, targets, len(self.classes), seed)
        probabilities = self.scores(learner, self.pool.embeddings, self.pool.prior)
        strength = 1.0 if learner is None else learner.strength
        accuracy = estimated_accuracy(features, targets, seed, strength)
        previous = self.model
        self.model = Model(previous.version + 1, learner, probabilities, accuracy)
        seen, self._seen = self._seen, max((label.id for label in labels), default=0)
        finished = time.time()
        self.store.add_model(
            ModelRecord(
                version=self.model.version,
                labels=len(labels),
                accuracy=accuracy,
                agreement=agreement(labels, seen),
                trained_at=finished,
                seconds=finished - (asked_at or started),
            )
        )
        return self.model

    def scores(
        self, learner: FittedLearner | None, embeddings: np.ndarray, prior: np.ndarray | None
    ) -> np.ndarray | None:
        """Class probabilities of galaxies from ``learner`` and their ``prior`` (either alone
        while the other is missing)."""
        if learner is None:
            return prior
        weight = self.settings.prior_weight
        return with_prior(learner.probabilities(embeddings), prior, weight)

    def wait(self) -> None:
        """Block until any background retraining has finished."""
        while True:
            with self._lock:
                running = self._retraining
            if running is None or running.done():
                return
            running.result()

    def close(self) -> None:
        """Finish background work and close the store."""
        self.wait()
        self._executor.shutdown()
        self.store.close()


def agreement(labels: list[Label], seen: int) -> float | None:
    """Share of the labels newer than label id ``seen`` whose class the learner then showing
    had predicted: its accuracy on galaxies it had not trained on."""
    judged = [label for label in labels if label.id > seen and label.predicted]
    if not judged:
        return None
    return sum(label.label == label.predicted for label in judged) / len(judged)
