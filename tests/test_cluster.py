"""Consensus clustering of embeddings and `galvision cluster` on a tiny embedded survey."""

from pathlib import Path

import numpy as np
import pytest

from galvision.cli import main
from galvision.embeddings.cluster import UNASSIGNED, consensus_clusters, match_to, nmi, purity
from galvision.errors import ConfigError
from helpers.training import csv_rows


def test_consensus_recovers_well_separated_planted_clusters():
    rng = np.random.default_rng(0)
    centres = 12 * rng.normal(size=(4, 16))
    classes = rng.integers(0, 4, 400)
    vectors = centres[classes] + rng.normal(size=(400, 16))
    consensus = consensus_clusters(vectors, clusters=4, components=8)
    assert consensus.assigned_fraction > 0.95
    assert purity(consensus.labels, classes) == pytest.approx(1.0)
    assert nmi(consensus.labels, classes) == pytest.approx(1.0, abs=1e-4)


def test_disagreement_leaves_samples_unassigned():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(300, 8))  # no structure: the methods cut it differently
    everyone = consensus_clusters(vectors, clusters=6, components=8, agreement=4)
    anyone = consensus_clusters(vectors, clusters=6, components=8, agreement=1)
    assert everyone.assigned_fraction < anyone.assigned_fraction == 1.0
    assert set(np.unique(everyone.labels)) <= {UNASSIGNED, *range(6)}


def test_labels_are_matched_to_the_reference_clusters():
    reference = np.array([0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(
        match_to(reference, np.array([5, 5, 3, 3, 9, 9]), True), reference
    )
    np.testing.assert_array_equal(
        match_to(reference, np.array([-1, 7, 7, 7, 8, 8]), False), [-1, 1, 1, 1, 2, 2]
    )
    with pytest.raises(ConfigError, match="--clusters must lie in"):
        consensus_clusters(np.ones((5, 3)), clusters=9)


def test_cluster_writes_assignments_tables_and_pictures(tiny_embeddings: Path, tmp_path, capsys):
    out = tmp_path / "out"
    data = Path(__file__).parent / "conf" / "tiny_morphology.yaml"
    main(["cluster", str(tiny_embeddings), "--clusters", "3", "--components", "4",
          "--data", str(data), "--output", str(out)])  # fmt: skip
    rows = csv_rows(out / "clusters.csv")
    assert [row["row"] for row in rows] == [str(r) for r in range(24)]
    overall = csv_rows(out / "cluster.csv")[0]
    assert 0 <= float(overall["assigned"]) <= 1 and 0 <= float(overall["purity"]) <= 1
    assert (out / "cluster_map.png").stat().st_size > 0
    assert (out / "cluster_gallery.png").stat().st_size > 0
    assert "Consensus clustering" in capsys.readouterr().out
