"""Outputs whose names collide once made file-safe keep an unambiguous, recorded source."""

import shutil
from unittest.mock import MagicMock

import h5py
import torch
from astropy.io import fits

from galvision.callbacks import RestoredImageWriter
from galvision.data.keys import NAME, SOURCE
from galvision.data.observed import unique_names
from helpers.training import csv_rows, predict_folder, write_observed_fits

INPUTS = ["a b.fits", "a_b-2.fits", "a_b.fits", "é.fits"]


def test_names_already_safe_are_kept_before_others_are_changed():
    assert unique_names(["a b", "a_b-2", "a_b", "A_B", "é"]) == [
        "a_b-3",
        "a_b-2",
        "a_b",
        "A_B-4",
        "image",
    ]


def test_every_output_records_its_input(tiny_run, tmp_path):
    write_observed_fits(tmp_path / "made", len(INPUTS))
    (tmp_path / "observed").mkdir()
    for i, name in enumerate(INPUTS):
        shutil.move(tmp_path / "made" / f"galaxy{i}.fits", tmp_path / "observed" / name)
    out = tmp_path / "out"
    predict_folder(
        "deconv",
        tiny_run / "checkpoints" / "last.ckpt",
        out,
        tmp_path / "observed",
    )
    manifest = {
        row["output"]: row["source"] for row in csv_rows(out / "restored" / "manifest-rank0.csv")
    }
    assert manifest == {
        "a_b-3_restored.fits": "a b.fits",
        "a_b-2_restored.fits": "a_b-2.fits",
        "a_b_restored.fits": "a_b.fits",
        "image_restored.fits": "é.fits",
    }
    for output, source in manifest.items():
        recorded = fits.getheader(out / "restored" / output)["SRCFILE"]
        assert recorded == source.encode("ascii", "backslashreplace").decode()


def test_hdf5_outputs_record_their_sources(tmp_path):
    writer = RestoredImageWriter(str(tmp_path), format="hdf5", preview=False)
    trainer = MagicMock(global_rank=0)
    writer.on_predict_start(trainer, None)
    prediction = {"restored": torch.zeros(2, 3, 8, 8), NAME: ["a_b-3", "a_b"]}
    batch = {SOURCE: ["a b.fits", "a_b.fits"]}
    writer.write_on_batch_end(trainer, None, prediction, None, batch, 0)
    writer.on_predict_end(trainer, None)
    with h5py.File(tmp_path / "restored-rank0.h5") as file:
        assert file[SOURCE].asstr()[()].tolist() == ["a b.fits", "a_b.fits"]
