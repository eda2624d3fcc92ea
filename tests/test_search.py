"""FAISS search over embeddings and `galvision search` on a tiny embedded survey."""

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from galvision.cli import main
from galvision.embeddings.search import (
    build_index,
    pq_subquantizers,
    precision_by_class,
    recall_at_k,
    search,
)
from galvision.embeddings.search_command import query_picture
from galvision.errors import ConfigError, DataError
from helpers.training import csv_rows


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivfpq"])
def test_every_index_returns_a_planted_nearest_neighbour(kind):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(10_000, 16)).astype(np.float32)
    query = rng.normal(size=16).astype(np.float32)
    vectors[4321] = 3 * query + 0.01 * rng.normal(size=16)  # same direction, another length
    scores, rows = search(build_index(vectors, kind), query[None], 5)
    assert rows[0, 0] == 4321 and scores[0, 0] == pytest.approx(1.0, abs=1e-3)
    assert (np.diff(scores[0]) <= 1e-6).all()


def test_recall_and_bad_input():
    assert recall_at_k(
        np.array([[1, 2, 3], [4, 5, 6]]), np.array([[3, 2, 1], [4, 9, 8]])
    ) == pytest.approx(2 / 3)
    assert pq_subquantizers(384) == 96 and pq_subquantizers(48) == 12
    index = build_index(np.eye(4, dtype=np.float32))
    with pytest.raises(DataError, match="queries are 3-d but the embeddings are 4-d"):
        search(index, np.ones((1, 3)), 2)
    with pytest.raises(DataError, match="ivfpq needs at least 9984 vectors"):
        build_index(np.ones((100, 8)), "ivfpq")
    with pytest.raises(ConfigError, match="index 'lsh' is not one of"):
        build_index(np.ones((10, 8)), "lsh")
    with pytest.raises(DataError, match="non-empty"):
        build_index(np.empty((0, 8)))


def test_precision_by_class_leaves_the_query_out():
    rng = np.random.default_rng(0)
    centres = 10 * rng.normal(size=(2, 8)).astype(np.float32)
    vectors = centres[[0] * 6 + [1] * 6] + 0.1 * rng.normal(size=(12, 8)).astype(np.float32)
    labels = np.array([0] * 5 + [1] * 7)  # row 5 is labelled 1 but lies among the 0s
    found = precision_by_class(build_index(vectors), vectors, labels, 5)
    assert found[0] == pytest.approx(4 / 5)  # the 5 others of each 0 include row 5
    assert found[1] == pytest.approx(6 / 7)  # row 5 finds no 1 among its nearest


def test_evaluate_reports_precision_by_class(tiny_embeddings, tmp_path, capsys):
    conf = Path(__file__).parent / "conf" / "tiny_morphology.yaml"
    out = tmp_path / "out"
    main(["search", str(tiny_embeddings), "--evaluate", "-k", "3", "--data", str(conf),
          "--output", str(out)])  # fmt: skip
    rows = csv_rows(out / "search_precision.csv")
    assert rows[-1]["class"] == "mean over classes"
    assert all(0 <= float(row["precision_flat"]) <= 1 for row in rows)
    assert "Precision@3 by class" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="--evaluate needs --data"):
        main(["search", str(tiny_embeddings), "--evaluate", "--output", str(out)])


def test_search_by_name_finds_the_row_itself_and_draws_the_mosaic(
    tiny_embeddings, tmp_path, capsys
):
    out = tmp_path / "out"
    conf = Path(__file__).parent / "conf" / "tiny_morphology.yaml"
    main(["search", str(tiny_embeddings), "--name", "row5", "-k", "6", "--data", str(conf),
          "--output", str(out)])  # fmt: skip
    rows = csv_rows(out / "search.csv")
    assert [row["rank"] for row in rows] == ["1", "2", "3", "4", "5", "6"]
    assert rows[0]["row"] == "5" and float(rows[0]["cosine"]) == pytest.approx(1.0, abs=1e-4)
    assert (out / "search.png").stat().st_size > 0
    assert "row5" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (["--text", "a spiral"], "a text or symbol query needs --alignment"),
        (["--image", "{wrong}"], "an image query needs --backbone"),
        (["--name", "andromeda"], "no embedded row is named 'andromeda'"),
    ],
)
def test_bad_queries_are_one_line_errors(tiny_embeddings, tmp_path, query, message):
    wrong = tmp_path / "q.png"
    Image.fromarray(np.zeros((40, 40, 3), dtype=np.uint8)).save(wrong)
    arguments = [part.format(wrong=wrong) for part in query]
    with pytest.raises(SystemExit) as stopped:
        main(["search", str(tiny_embeddings), *arguments, "--output", str(tmp_path / "o")])
    assert re.search(message, str(stopped.value.code)), stopped.value.code


def test_a_query_picture_must_have_the_models_bands_and_size(tmp_path):
    path = tmp_path / "q.png"
    Image.fromarray(np.zeros((40, 40, 3), dtype=np.uint8)).save(path)
    assert query_picture(path, 3, 40).shape == (1, 3, 40, 40)
    with pytest.raises(
        DataError, match=r"3 band\(s\) of 40×40, the model takes 3 band\(s\) of 32×32"
    ):
        query_picture(path, 3, 32)
    path.write_bytes(b"not a picture")
    with pytest.raises(DataError, match="not a readable PNG/JPEG picture"):
        query_picture(path, 3, 40)
