"""The runs behind ``galvision benchmark active``: an oracle labelling through the labelling
service, and a ResNet-18 trained from scratch on random labels.

The oracle is a ``LabelSession`` like the web app's, over its own SQLite file: it asks for a
page, answers each galaxy from the catalogue's true class, and the session retrains its
learner every page, exactly as it would for a person. After each page the learner is scored on
the fixed test split.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import warnings
from pathlib import Path

import numpy as np
import torch
import yaml
from torchmetrics.classification import MulticlassAUROC
from torchmetrics.functional.classification import multiclass_accuracy, multiclass_auroc
from torchmetrics.wrappers import BootStrapper

from galvision.benchmark.active_sets import ActiveSet, Split, SplitName
from galvision.benchmark.classification import resnet_arguments
from galvision.benchmark.training import resumable_run
from galvision.embeddings.catalogue import load_datamodule
from galvision.label.learner import fit_learner
from galvision.label.pool import Pool
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
