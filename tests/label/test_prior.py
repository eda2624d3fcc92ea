"""The labelling prior: a classifier's or an alignment model's classes mapped onto the
session's, its scores before any label, and the product with the learner's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from galvision.embeddings.catalogue import Catalogue
from galvision.errors import ConfigError
from galvision.label.command import open_session, parse_label_args
from galvision.label.pool import Pool
from galvision.label.prior import checkpoint_prior, class_matrix, with_prior
from galvision.label.session import LabelError, LabelSession, SessionSettings
from galvision.label.store import LabelStore
from helpers.labelling import CLASSES, toy_pool

CONF = Path(__file__).resolve().parents[1] / "conf"
SIMULATED = ["smooth_round", "smooth_cigar", "barred_spiral", "merger"]
ONTO_TWO = {"smooth_round": "smooth", "smooth_cigar": "smooth", "barred_spiral": "featured"}


def test_classes_map_by_name_or_mapping_and_unmapped_ones_drop_out() -> None:
    matrix = class_matrix(SIMULATED, CLASSES, ONTO_TWO)
    assert matrix.tolist() == [[1, 0], [1, 0], [0, 1], [0, 0]]
    assert class_matrix(["featured", "smooth"], CLASSES).tolist() == [[0, 1], [1, 0]]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"spiral": "featured", "smooth_round": "smooth"}, "'spiral' is not a class of the prior"),
        ({"smooth_round": "round", "barred_spiral": "featured"}, "'round', not a class"),
        ({"smooth_round": "smooth"}, r"maps onto \['featured'\]"),
    ],
)
def test_a_bad_mapping_is_one_line(mapping: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        class_matrix(SIMULATED, CLASSES, mapping)
    assert "\n" not in str(error.value)


def test_the_product_of_learner_and_prior() -> None:
    probe = np.array([[0.5, 0.5], [0.8, 0.2], [1.0, 0.0]])
    prior = np.array([[0.9, 0.1], [0.5, 0.5], [0.3, 0.7]])
    assert np.allclose(with_prior(probe, prior, 0.0), probe)
    assert with_prior(probe, None, 1.0) is probe
    combined = with_prior(probe, prior, 1.0)
    assert np.allclose(combined.sum(1), 1)
    assert np.allclose(combined[0], prior[0])  # an undecided learner leaves the prior
    assert np.allclose(combined[1], probe[1])  # an undecided prior leaves the learner
    assert np.allclose(combined[2], [0.3 / 1.0, 0.7 / 1.0])  # a class no label named: prior
    squared = with_prior(probe[:1], prior[:1], 2.0)[0]
    assert squared[0] == pytest.approx(0.81 / 0.82)


def test_a_session_shows_the_prior_before_any_label(tmp_path: Path) -> None:
    pool, truth = toy_pool()
    prior = np.where(truth[:, None] == [0, 1], 0.7, 0.3)  # right, but unsure
    settings = SessionSettings(background=False, retrain_every=4)
    with_prior_pool = LabelSession(
        Pool(pool.names, pool.embeddings, pool.pictures, prior=prior),
        CLASSES,
        LabelStore(tmp_path / "labels.sqlite", CLASSES),
        settings,
    )
    first = with_prior_pool.galaxy(0)
    assert first["predicted"] == CLASSES[truth[0]] and first["score"] == pytest.approx(0.7)
    for row in range(4):
        with_prior_pool.label(row, CLASSES[truth[row]], "ann")
    model = with_prior_pool.model
    alone = model.learner.probabilities(pool.embeddings)
    assert np.allclose(model.probabilities, with_prior(alone, prior, 1.0))
    with_prior_pool.close()


def test_a_prior_of_the_wrong_shape_or_weight_is_refused(tmp_path: Path) -> None:
    pool, _ = toy_pool()
    wrong = Pool(pool.names, pool.embeddings, None, prior=np.full((3, 2), 0.5))
    store = LabelStore(tmp_path / "labels.sqlite", CLASSES)
    with pytest.raises(LabelError, match=r"prior of shape \(3, 2\)"):
        LabelSession(wrong, CLASSES, store, SessionSettings())
    with pytest.raises(LabelError, match="prior_weight=-1"):
        SessionSettings(prior_weight=-1)


def onto_two_classes(catalogue: Catalogue) -> dict[str, str]:
    """The tiny survey's simulated classes summed onto smooth and featured."""
    return {
        name: "smooth" if name.startswith("smooth") else "featured"
        for name in catalogue.class_names
    }


@pytest.mark.parametrize("checkpoint", ["tiny_classifier", "tiny_aligner"])
def test_a_classifier_or_an_alignment_model_scores_the_catalogue_onto_the_label_classes(
    checkpoint: str, request: pytest.FixtureRequest
) -> None:
    path: Path = request.getfixturevalue(checkpoint)
    catalogue = Catalogue(CONF / "tiny_morphology.yaml")
    mapping = onto_two_classes(catalogue)
    prior = checkpoint_prior(path, catalogue, CLASSES, mapping, np.arange(6))
    assert prior.shape == (6, 2) and np.allclose(prior.sum(1), 1) and (prior > 0).all()
    with pytest.raises(ConfigError, match="no checkpoint at"):
        checkpoint_prior(path.with_name("gone.ckpt"), catalogue, CLASSES, mapping)


def test_a_checkpoint_that_scores_no_classes_is_refused(tiny_mae: Path) -> None:
    catalogue = Catalogue(CONF / "tiny_morphology.yaml")
    with pytest.raises(ConfigError, match="which scores no classes") as error:
        checkpoint_prior(tiny_mae, catalogue, CLASSES, None, np.arange(2))
    assert str(tiny_mae) in str(error.value) and "\n" not in str(error.value)


def test_galvision_label_loads_and_caches_the_prior(
    tiny_mae: Path, tiny_classifier: Path, tmp_path: Path
) -> None:
    mapping = onto_two_classes(Catalogue(CONF / "tiny_morphology.yaml"))
    argv = [
        "--config", str(CONF / "label.yaml"), "--backbone", str(tiny_mae),
        "--database", str(tmp_path / "labels.sqlite"), "--prior", str(tiny_classifier),
        "--prior_classes", str(mapping).replace("'", '"'), "--prior_weight", "0.5",
    ]  # fmt: skip
    session = open_session(parse_label_args(argv))
    assert session.pool.prior.shape == (24, 2) and session.settings.prior_weight == 0.5
    assert np.allclose(session.model.probabilities, session.pool.prior)
    session.close()
    assert len(list(tmp_path.glob("prior-*.npy"))) == 1
