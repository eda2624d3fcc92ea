"""The runs behind ``galvision benchmark active``: pools embedded once, an oracle labelling
through the labelling service, and a ResNet-18 trained from scratch on random labels.

The oracle is a ``LabelSession`` like the web app's, over its own SQLite file: it asks for a
page, answers each galaxy from the catalogue's true class, and the session retrains its
learner every page, exactly as it would for a person. After each page the learner is scored on
the fixed test split.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import inspect
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml
from torchmetrics.classification import MulticlassAUROC
from torchmetrics.functional.classification import multiclass_accuracy, multiclass_auroc
from torchmetrics.wrappers import BootStrapper

from galvision import api
from galvision.benchmark.classification import resnet_arguments
from galvision.benchmark.training import resumable_run
from galvision.data.row_tables import dataset_labels, row_names
from galvision.embeddings.catalogue import Catalogue, load_datamodule
from galvision.errors import ConfigError
from galvision.label.learner import fit_learner
from galvision.label.pool import Pool, cache_key, embed_catalogue, source_stamp, unit_rows
from galvision.label.prior import cached_array, checkpoint_prior
from galvision.label.session import LabelSession, SessionSettings
from galvision.label.store import LabelStore

ORACLE = "oracle"
BOOTSTRAPS = 1000
# The modules whose code decides an oracle curve (with `oracle_curve` itself): what is shown,
# what is learnt, how it retrains.
LABELLING_CODE = (
    "galvision.label.acquisition",
    "galvision.label.learner",
    "galvision.label.prior",
    "galvision.label.session",
)

# A split of a data config by name, several scored together, or None for every row.
SplitName = str | tuple[str, ...] | None


@dataclass(frozen=True)
class ActiveSet:
    """A pool to label (a split of a data config, or all of it), a test split (several splits
    together, or all of a catalogue disjoint from the pool), the classes."""

    name: str
    pool: Path
    pool_split: str | None
    test: Path
    classes: tuple[str, ...] | None = None  # None: the pool catalogue's own classes
    test_split: SplitName = "test"
    prior_classes: dict[str, str] | None = None  # a prior's classes onto these (None: by name)


@dataclass(frozen=True)
class Split:
    """Rows of one catalogue (in its row order), their unit embeddings and classes, and their
    prior class probabilities where a prior is given."""

    rows: np.ndarray
    names: list[str]
    embeddings: np.ndarray
    labels: np.ndarray
    prior: np.ndarray | None = None


def split_rows(config: Path, split: SplitName) -> np.ndarray | None:
    """Catalogue rows of ``split`` of a data config, or of several splits in row order (None:
    every row)."""
    if split is None:
        return None
    indices = load_datamodule(config).split_indices
    indices = indices() if callable(indices) else indices
    names = (split,) if isinstance(split, str) else split
    unknown = [name for name in names if name not in indices]
    if unknown:
        raise ConfigError(f"{config}: no split {unknown[0]!r}; the splits are {sorted(indices)}")
    if isinstance(split, str):
        return np.asarray(indices[split])
    return np.sort(np.concatenate([np.asarray(indices[name]) for name in names]))


def split_label(split: SplitName) -> str:
    """A split's name in file names: ``all`` for every row, ``train+val`` for several."""
    if split is None:
        return "all"
    return split if isinstance(split, str) else "+".join(split)


def embed_split(
    backbone: torch.nn.Module,
    config: Path,
    split: SplitName,
    classes: list[str],
    invariant: bool = False,
) -> Split:
    """The rows of ``split`` whose class is one of ``classes``, embedded by ``backbone``
    (``invariant``: averaged over turns and flips)."""
    catalogue = Catalogue(config)
    theirs = list(catalogue.class_names or [])
    rows = split_rows(config, split)
    rows = np.arange(len(catalogue)) if rows is None else rows
    mapping = np.array([classes.index(name) if name in classes else -1 for name in theirs])
    labels = mapping[dataset_labels(catalogue.rows)[rows]]
    rows, labels = rows[labels >= 0], labels[labels >= 0]
    names = row_names(catalogue.rows)
    vectors = unit_rows(embed_catalogue(catalogue, backbone, rows, invariant))
    return Split(rows, [names[row] for row in rows], vectors, labels)


def set_classes(active: ActiveSet) -> list[str]:
    """The classes a set is labelled in."""
    if active.classes is not None:
        return list(active.classes)
    names = Catalogue(active.pool).class_names
    if names is None:
        raise ConfigError(f"{active.pool}: the catalogue has no classes for an oracle to answer")
    return list(names)


def embedding_name(active: ActiveSet, backbone: str, invariant: bool) -> str:
    """The name of the embeddings a set's curves are scored on, part of each curve's key so a
    curve is read back only for the same backbone, pool and averaging."""
    return f"{active.name}-{cache_key(backbone, active.pool, invariant)}"


def split_cache_name(
    config: Path, split: SplitName, classes: list[str], backbone: str, invariant: bool
) -> str:
    """The file name of a split's cached embeddings, which changes with what they are made of."""
    made_of = f"{cache_key(backbone, config, invariant)}|{split}|{'|'.join(classes)}"
    digest = hashlib.sha256(made_of.encode()).hexdigest()[:16]
    return f"{config.stem}-{split_label(split)}-{digest}.npz"


def embedded_split(
    folder: Path,
    config: Path,
    split: SplitName,
    classes: list[str],
    backbone: str,
    invariant: bool,
    model: Callable[[], torch.nn.Module],
) -> Split:
    """A split embedded by ``model()``, read back from ``folder`` when it was made before."""
    cached = folder / split_cache_name(config, split, classes, backbone, invariant)
    if cached.is_file():
        stored = np.load(cached, allow_pickle=False)
        return Split(stored["rows"], stored["names"].tolist(), stored["x"], stored["y"])
    part = embed_split(model(), config, split, classes, invariant)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(cached, rows=part.rows, names=np.array(part.names), x=part.embeddings, y=part.labels)
    return part


@dataclass(frozen=True)
class Prior:
    """A classification or alignment checkpoint scoring every galaxy before any label, and its
    classes mapped onto a set's."""

    checkpoint: Path
    mapping: dict[str, str] | None = None

    def name(self) -> str:
        """A digest of the checkpoint (path and time written) and the mapping: part of each
        curve's key and of the cached priors' names."""
        made_of = f"{source_stamp(self.checkpoint)}|{sorted((self.mapping or {}).items())}"
        return hashlib.sha256(made_of.encode()).hexdigest()[:12]


def with_split_prior(
    part: Split, config: Path, classes: list[str], prior: Prior, folder: Path
) -> Split:
    """``part`` with the prior's probabilities of its rows (cached in ``folder``)."""
    made_of = f"{prior.name()}|{config.resolve()}|{part.rows.tobytes().hex()}|{classes}"
    digest = hashlib.sha256(made_of.encode()).hexdigest()[:16]
    scores = cached_array(
        folder / f"{config.stem}-prior-{digest}.npy",
        lambda: checkpoint_prior(
            prior.checkpoint, Catalogue(config), classes, prior.mapping, part.rows
        ),
    )
    return dataclasses.replace(part, prior=scores)


def embed_set(
    active: ActiveSet,
    backbone: str,
    folder: Path,
    invariant: bool = False,
    classes: list[str] | None = None,
    prior: Prior | None = None,
) -> tuple[Split, Split]:
    """Pool and test split of a set in its ``classes`` (read from the set when None), embedded
    and, given a ``prior``, scored by it (cached in ``folder``, so sets sharing a pool or a
    test split embed it once)."""
    classes = set_classes(active) if classes is None else classes
    model = functools.cache(lambda: api.load_backbone(backbone))
    parts = []
    for config, split in ((active.pool, active.pool_split), (active.test, active.test_split)):
        part = embedded_split(folder, config, split, classes, backbone, invariant, model)
        if prior is not None:
            part = with_split_prior(part, config, classes, prior, folder)
        parts.append(part)
    pool, test = parts
    return pool, test


def heldout_scores(probabilities: np.ndarray, test: Split, classes: int) -> dict[str, float]:
    """Accuracy, and AUROC one-vs-rest averaged over the classes the test split holds (for two
    classes, the plain AUROC)."""
    scores, truth = torch.from_numpy(probabilities).float(), torch.from_numpy(test.labels).long()
    with warnings.catch_warnings():  # classes absent from the test split are left out below
        warnings.simplefilter("ignore", UserWarning)
        per_class = multiclass_auroc(scores, truth, classes, average=None)
    present = torch.bincount(truth, minlength=classes) > 0
    return {
        "auroc": float(per_class[present].mean()),
        "accuracy": float(multiclass_accuracy(scores, truth, classes, average="micro")),
    }


def every_label_scores(pool: Split, test: Split, classes: int, seed: int) -> dict[str, float]:
    """Test scores of the learner fitted on every pool label (the level the curves approach),
    and the standard deviation of its AUROC over bootstrap draws of the test galaxies."""
    learner = fit_learner(pool.embeddings, pool.labels, classes, seed)
    probabilities = learner.probabilities(test.embeddings)
    resampled = BootStrapper(
        MulticlassAUROC(classes), BOOTSTRAPS, mean=False, sampling_strategy="multinomial"
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        resampled.update(torch.from_numpy(probabilities).float(), torch.from_numpy(test.labels))
        spread = float(resampled.compute()["std"])
    return heldout_scores(probabilities, test, classes) | {"auroc_sd": spread}


def oracle_curve(
    pool: Split,
    test: Split,
    classes: list[str],
    strategy: str,
    seed: int,
    budget: int,
    page: int,
    folder: Path,
    prior_weight: float = 1.0,
) -> list[dict]:
    """Labels, test AUROC and accuracy after every page the oracle labels, up to ``budget``
    (with the splits' prior, where they have one, at ``prior_weight``)."""
    database = folder / f"{strategy}-seed{seed}.sqlite"
    for stale in folder.glob(f"{database.name}*"):
        stale.unlink()
    settings = SessionSettings(
        strategy, page, lease_seconds=3600, seed=seed, background=False, prior_weight=prior_weight
    )
    session = LabelSession(
        Pool(pool.names, pool.embeddings, pictures=None, prior=pool.prior),
        classes,
        LabelStore(database, classes),
        settings,
    )
    curve = []
    while session.store.count() < budget:
        shown = session.next_page(ORACLE, page)
        if not shown:
            break
        for galaxy in shown:  # the session retrains after every page: budget is whole pages
            session.label(galaxy["row"], classes[pool.labels[galaxy["row"]]], ORACLE)
        probabilities = session.scores(session.model.learner, test.embeddings, test.prior)
        if probabilities is not None:  # a learner, or the prior while two classes lack labels
            scores = heldout_scores(probabilities, test, len(classes))
            curve.append({"labels": session.store.count(), **scores})
    session.close()
    return curve


def labelling_code() -> str:
    """A digest of the labelling service's source, part of each curve's key, so that a curve is
    read back only while the code that would make it again is unchanged."""
    modules = (importlib.import_module(name) for name in LABELLING_CODE)
    text = "".join(map(inspect.getsource, (*modules, oracle_curve)))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def resumable_curve(folder: Path, key: dict, make) -> list[dict]:
    """A curve computed by ``make()``, or read back from an identical earlier run."""
    path = folder / (
        "-".join(str(value) for value in key.values() if not isinstance(value, list)) + ".json"
    )
    if path.is_file():
        stored = json.loads(path.read_text())
        if stored["key"] == key:
            return stored["curve"]
    curve = make()
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": key, "curve": curve}))
    return curve


def random_labels(pool: Split, count: int, seed: int) -> np.ndarray:
    """Positions in the pool of ``count`` labels drawn at random, as the random strategy does."""
    return np.random.default_rng(seed).permutation(len(pool.rows))[:count]


def yaml_split(split: SplitName) -> str | list[str] | None:
    """A split as a data config names it: several splits as a list."""
    return list(split) if isinstance(split, tuple) else split


def resnet_point(
    active: ActiveSet,
    pool: Split,
    classes: list[str],
    count: int,
    config: list[Path],
    steps: int,
    seed: int,
    folder: Path,
) -> dict:
    """Test AUROC and accuracy of a ResNet-18 from scratch on ``count`` random pool labels."""
    run = folder / f"resnet18-{count}-seed{seed}"
    run.mkdir(parents=True, exist_ok=True)
    chosen = random_labels(pool, count, seed)
    labels = run / "labels.csv"
    lines = ["row,name,label"] + [
        f"{pool.rows[i]},{pool.names[i]},{classes[pool.labels[i]]}" for i in sorted(chosen)
    ]
    labels.write_text("\n".join(lines) + "\n")
    data = {
        "class_path": "galvision.data.exported_labels.ExportedLabelsDataModule",
        "init_args": {
            "source": str(active.pool.resolve()),
            "labels": str(labels.resolve()),
            "classes": classes,
            "test": str(active.test.resolve()),
            "test_split": yaml_split(active.test_split),
            "batch_size": 32,
        },
    }
    data_config = run / "data.yaml"
    data_config.write_text(yaml.safe_dump(data))
    source = load_datamodule(active.pool)
    extra = [
        *resnet_arguments(source.num_bands, source.image_size),
        "--model.init_args.num_classes",
        str(len(classes)),
        "--data",
        str(data_config),
    ]
    metrics = resumable_run(config, run, steps, seed, extra)
    return {"labels": count, "auroc": metrics["test/auroc"], "accuracy": metrics["test/accuracy"]}
