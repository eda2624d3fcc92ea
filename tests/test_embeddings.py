"""Catalogue embeddings: sharded, resumable writing under predict (one and two processes)."""

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from galvision.cli import main
from galvision.data.embedding_datamodule import EmbeddingDataModule
from galvision.embeddings.store import (
    INDEX_FILE,
    Shard,
    read_embeddings,
    shard_files,
    write_shard,
)
from galvision.errors import DataError
from helpers.training import config_args

TINY_ROWS = 24  # galaxies of tests/conf/tiny_morphology.yaml


def embed(root: Path, *extra: str) -> None:
    main(["predict", *config_args("embed"), "--trainer.default_root_dir", str(root),
          "--untrained", "true", *extra])  # fmt: skip


def test_predict_writes_every_row_once_in_shards_with_an_index(tmp_path):
    embed(tmp_path)
    folder = tmp_path / "embeddings"
    assert [path.name for path in shard_files(folder)] == [
        "shard-r000-000000.h5", "shard-r000-000001.h5", "shard-r000-000002.h5",
    ]  # fmt: skip
    table = read_embeddings(folder)
    np.testing.assert_array_equal(table.rows, np.arange(TINY_ROWS))
    assert table.vectors.shape == (TINY_ROWS, 48) and np.isfinite(table.vectors).all()
    assert len(set(table.vectors[:, 0])) == TINY_ROWS  # every galaxy its own vector
    index = (folder / INDEX_FILE).read_text().splitlines()
    assert index[0] == "row,name,shard" and len(index) == 1 + TINY_ROWS


def test_a_resumed_run_embeds_only_the_rows_no_shard_holds(tmp_path):
    embed(tmp_path)
    folder = tmp_path / "embeddings"
    first, middle, last = shard_files(folder)
    before = read_embeddings(folder)
    kept = {path: path.stat().st_mtime_ns for path in (first, last)}
    middle.unlink()
    (folder / INDEX_FILE).unlink()
    embed(tmp_path)
    assert {path: path.stat().st_mtime_ns for path in (first, last)} == kept
    new = [path for path in shard_files(folder) if path not in kept]
    with h5py.File(new[0], "r") as file:
        np.testing.assert_array_equal(file["row"][...], np.arange(8, 16))
    after = read_embeddings(folder)
    np.testing.assert_allclose(after.vectors, before.vectors, atol=1e-5)
    assert (folder / INDEX_FILE).is_file()


def test_bad_embedding_folders_are_one_line_errors(tmp_path):
    with pytest.raises(DataError, match="no such embeddings folder"):
        read_embeddings(tmp_path / "nowhere")
    tmp_path.joinpath("empty").mkdir()
    with pytest.raises(DataError, match="no embedding shards"):
        read_embeddings(tmp_path / "empty")
    write_shard(
        tmp_path / "w" / "shard-r000-000000.h5",
        Shard(np.arange(2), ["a", "b"], {"embedding": np.ones((2, 4))}),
    )
    write_shard(
        tmp_path / "w" / "shard-r001-000000.h5",
        Shard(np.arange(2, 4), ["c", "d"], {"embedding": np.ones((2, 5))}),
    )
    with pytest.raises(DataError, match=r"differ in width \[4, 5\]"):
        read_embeddings(tmp_path / "w")
    with pytest.raises(DataError, match=r"no \['aligned'\] vectors"):
        read_embeddings(tmp_path / "w", kind="aligned")
    (tmp_path / "w" / "shard-r002-000000.h5").write_bytes(b"not hdf5")
    with pytest.raises(DataError, match=r"shard-r002-000000\.h5: not a readable embedding shard"):
        read_embeddings(tmp_path / "w")


def test_an_empty_catalogue_is_a_one_line_error():
    class Nothing:
        num_bands, image_size = 3, 32

        def catalogue(self):
            return []

    with pytest.raises(DataError, match="has no rows to embed"):
        EmbeddingDataModule(Nothing()).setup("predict")


@pytest.mark.slow
def test_two_process_predict_writes_every_row_once(tmp_path):
    tests = str(Path(__file__).resolve().parent)
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")]),
    }
    command = [
        sys.executable, "-m", "galvision", "predict", *config_args("embed"),
        "--trainer.default_root_dir", str(tmp_path), "--untrained", "true",
        "--trainer.accelerator", "cpu", "--trainer.devices", "2", "--trainer.strategy", "ddp",
    ]  # fmt: skip
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    shards = shard_files(tmp_path / "embeddings")
    assert {path.name[:10] for path in shards} == {"shard-r000", "shard-r001"}
    rows = np.concatenate([h5py.File(path, "r")["row"][...] for path in shards])
    assert sorted(rows.tolist()) == list(range(TINY_ROWS))  # each row once, none padded twice
    assert len((tmp_path / "embeddings" / INDEX_FILE).read_text().splitlines()) == 1 + TINY_ROWS
