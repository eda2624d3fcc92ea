"""Simulated strong-lens fields: lenses and their boxes, caching, datamodules and bad input."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from lightning.pytorch import Trainer

from galvision.backbones import Backbone
from galvision.data import keys
from galvision.data.boxes import check_boxes
from galvision.data.lens_datamodule import LensFieldDataModule, LensStampDataModule
from galvision.data.simulate import (
    OBJECT_KINDS,
    LensFieldConfig,
    cached_lens_fields,
    check_lens_fields_file,
    lens_fields,
    simulate_lens_fields,
)
from galvision.data.simulate.lens_gallery import save_lens_gallery
from galvision.data.simulate.lenses import ARC_THRESHOLD, draw_lens, sample_lens_parameters
from galvision.errors import ConfigError, DataError
from galvision.tasks import ClassificationTask

TINY = LensFieldConfig(n_fields=12, field_size=64, max_galaxies=3, n_psfs=4, psf_size=15)


def read(path: Path, name: str) -> np.ndarray:
    """One dataset of a fields file."""
    with h5py.File(path, "r") as file:
        return file[name][()]


@pytest.fixture(scope="module")
def fields_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny fields, simulated once for the module."""
    path = tmp_path_factory.mktemp("lens-fields") / "fields.h5"
    return simulate_lens_fields(TINY, path, workers=1, progress=False)


def inside(mask: np.ndarray, boxes: np.ndarray) -> bool:
    """Whether every true pixel of `mask` lies in one of the boxes."""
    rows, columns = np.nonzero(mask)
    covered = np.zeros(len(rows), dtype=bool)
    for x0, y0, x1, y1 in boxes:
        covered |= (columns >= x0) & (columns + 1 <= x1) & (rows >= y0) & (rows + 1 <= y1)
    return bool(covered.all())


def test_a_lens_has_its_arcs_and_einstein_circle_inside_its_box() -> None:
    for seed in range(4):
        params = sample_lens_parameters(np.random.default_rng(seed), TINY)
        lens = draw_lens(params, TINY)
        assert lens.image.shape == (3, 64, 64) and lens.image.dtype == np.float32
        assert inside(lens.source >= ARC_THRESHOLD * lens.source.max(), lens.box[None])
        radius = params["theta_e"] / TINY.pixel_scale
        x, y = lens.centre
        assert lens.box[0] <= x - radius and lens.box[2] >= x + radius
        assert lens.box[1] <= y - radius and lens.box[3] >= y + radius
        # Blue arcs around a red deflector: the source is lensed into 2+ images, magnified.
        assert lens.params["magnification"] > 1.5
        g, _, z = lens.image.sum(axis=(1, 2))
        assert z > g


def test_fields_keep_arcs_inside_boxes_and_boxes_inside_the_field() -> None:
    lensed = 0
    for index in range(TINY.n_fields):
        field = lens_fields.render_field(TINY, index)
        check_boxes(field.boxes, TINY.field_size, f"field {index}")
        assert len(field.boxes) <= TINY.max_lenses
        kinds = [OBJECT_KINDS[kind] for _, _, kind in field.objects]
        assert kinds.count("lens") == len(field.boxes)
        assert 1 <= len(kinds) - len(field.boxes) <= TINY.max_galaxies
        if len(field.boxes):
            lensed += 1
            peak = field.source.max()
            assert inside(field.source >= ARC_THRESHOLD * peak, field.boxes)
    assert 0 < lensed < TINY.n_fields


def test_file_layout_and_labels(fields_file: Path) -> None:
    assert check_lens_fields_file(fields_file) == TINY
    count, label, boxes = (read(fields_file, n) for n in ("box_count", "label", "boxes"))
    assert read(fields_file, "clean").shape == (12, 3, 64, 64)
    assert boxes.shape == (12, 2, 4) and read(fields_file, "psf_ground").shape == (4, 3, 15, 15)
    np.testing.assert_array_equal(label, count > 0)
    for n, field_boxes in zip(count, boxes, strict=True):
        assert np.isnan(field_boxes[n:]).all() and np.isfinite(field_boxes[:n]).all()
    theta = read(fields_file, "lens_params/theta_e")
    np.testing.assert_array_equal(np.isfinite(theta).sum(axis=1), count)
    with h5py.File(fields_file, "r") as file:
        assert json.loads(file.attrs["object_kinds"]) == list(OBJECT_KINDS)
        kind, field = file["objects/kind"][()], file["objects/field"][()]
    lenses = np.bincount(field[kind == OBJECT_KINDS.index("lens")], minlength=12)
    np.testing.assert_array_equal(lenses, count)


def test_same_seed_same_fields_other_seed_other_fields(
    fields_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lens_fields, "CHUNK", 5)  # three chunks, two workers
    again = simulate_lens_fields(TINY, tmp_path / "again.h5", workers=2, progress=False)
    for name in ("clean", "boxes", "objects/x", "lens_params/source_mag", "psf_ground"):
        np.testing.assert_array_equal(read(fields_file, name), read(again, name))
    other = dataclasses.replace(TINY, seed=1)
    reseeded = simulate_lens_fields(other, tmp_path / "other.h5", workers=1, progress=False)
    assert not np.allclose(read(fields_file, "clean"), read(reseeded, "clean"))


def test_cache_is_reused_and_a_corrupt_file_rebuilt(
    fresh_cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    small = dataclasses.replace(TINY, n_fields=3)
    path = cached_lens_fields(small, workers=1, progress=False)
    original = read(path, "clean")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError, match=path.name):
        check_lens_fields_file(path, small)
    with caplog.at_level(logging.WARNING):
        assert cached_lens_fields(small, workers=1, progress=False) == path
    assert path.name in caplog.text
    np.testing.assert_array_equal(read(path, "clean"), original)

    def fail(*args: object, **kwargs: object) -> Path:
        raise AssertionError("simulated again")

    monkeypatch.setattr(lens_fields, "simulate_lens_fields", fail)
    assert cached_lens_fields(small, workers=1, progress=False) == path


def test_field_batches_stack_images_and_list_boxes() -> None:
    data = LensFieldDataModule(TINY, val_size=2, test_size=2, batch_size=4)
    data.prepare_data()
    data.setup("fit")
    assert (data.num_bands, data.image_size, data.class_names) == (3, 64, ["no lens", "lens"])
    batch = next(iter(data.val_dataloader()))
    assert batch[keys.CLEAN].shape == (2, 3, 64, 64)
    assert batch[keys.PSF].shape == (2, 3, 15, 15) and batch[keys.TARGET_PSF].shape[0] == 2
    assert batch[keys.LABEL].dtype == torch.int64 and batch[keys.PSF_FWHM].shape == (2,)
    boxes = batch[keys.BOXES]
    assert isinstance(boxes, list) and len(boxes) == 2
    for label, field_boxes in zip(batch[keys.LABEL], boxes, strict=True):
        assert field_boxes.dtype == torch.float32 and field_boxes.shape[1:] == (4,)
        assert (len(field_boxes) > 0) == bool(label)
    train = next(iter(data.train_dataloader()))
    assert train[keys.CLEAN].shape[0] == 4 and len(train[keys.BOXES]) == 4


def test_stamp_labels_follow_object_kinds_and_splits_share_no_field() -> None:
    data = LensStampDataModule(TINY, stamp_size=32, val_size=2, test_size=2, batch_size=8)
    data.setup("fit")
    assert (data.image_size, data.num_classes, data.class_names) == (32, 2, ["non-lens", "lens"])
    fields = {}
    for split, dataset in data.datasets.items():
        rows = dataset.indices
        fields[split] = set(dataset.field[rows].tolist())
        kinds = read(cached_lens_fields(TINY), "objects/kind")[rows]
        labels = [int(dataset[i][keys.LABEL]) for i in range(len(dataset))]
        assert labels == (kinds == OBJECT_KINDS.index("lens")).astype(int).tolist()
    assert not fields["train"] & fields["val"] and not fields["val"] & fields["test"]
    assert not fields["train"] & fields["test"]
    batch = next(iter(data.train_dataloader()))
    assert batch[keys.CLEAN].shape == (8, 3, 32, 32) and keys.BOXES not in batch
    # A stamp is centred on its object: the lens stamp's central pixels hold its deflector.
    dataset = data.datasets["train"]
    lens = next(i for i in range(len(dataset)) if dataset.labels[dataset.indices[i]])
    stamp = dataset[lens][keys.CLEAN]
    assert stamp[:, 14:18, 14:18].sum() > 0.2 * stamp.sum()


@pytest.mark.parametrize(
    ("boxes", "message"),
    [
        ([[1.0, 2.0, 70.0, 10.0]], "leaves the 64x64 image"),
        ([[-1.0, 2.0, 7.0, 10.0]], "leaves the 64x64 image"),
        ([[5.0, 2.0, 5.0, 10.0]], "non-positive"),
        ([[1.0, 2.0, 3.0]], "shape"),
        ([[1.0, np.nan, 3.0, 4.0]], "not finite"),
    ],
)
def test_bad_boxes_raise_one_line_errors(boxes: list, message: str) -> None:
    with pytest.raises(DataError, match=message) as error:
        check_boxes(np.array(boxes), 64, "catalogue.csv")
    assert "\n" not in str(error.value) and "catalogue.csv" in str(error.value)
    check_boxes(torch.zeros((0, 4)), 64, "empty")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"field_size": 60}, "field_size=60"),
        ({"lens_fraction": 1.5}, "lens_fraction=1.5"),
        ({"max_lenses": 0}, "max_lenses=0"),
        ({"object_weights": {"quasar": 1.0}}, "quasar"),
        ({"theta_e_range": (2.0, 1.0)}, "theta_e_range"),
        ({"bands": ("g", "q")}, "LensFieldConfig.bands"),
    ],
)
def test_bad_config_raises_one_line_errors(change: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        dataclasses.replace(TINY, **change)
    assert "\n" not in str(error.value)


def test_bad_splits_raise() -> None:
    with pytest.raises(ConfigError, match=r"leave no training examples out of fields\.n_fields"):
        LensFieldDataModule(TINY, val_size=6, test_size=6)
    with pytest.raises(ConfigError, match="stamp_size=128"):
        LensStampDataModule(TINY, stamp_size=128, val_size=2, test_size=2)


def test_config_digest_is_stable_and_hashable() -> None:
    same = LensFieldConfig(**json.loads(TINY.to_json()))
    assert same == TINY and same.digest() == TINY.digest() and hash(same) == hash(TINY)
    assert dataclasses.replace(TINY, seed=3).digest() != TINY.digest()


def test_gallery_is_written(tmp_path: Path) -> None:
    path = save_lens_gallery(TINY, tmp_path / "lenses.png", n=2)
    assert path.stat().st_size > 10_000


def test_classification_task_trains_on_stamps(tiny_backbone_kwargs: dict) -> None:
    data = LensStampDataModule(TINY, stamp_size=32, val_size=2, test_size=2, batch_size=4)
    task = ClassificationTask(Backbone(**tiny_backbone_kwargs), num_classes=2)
    trainer = Trainer(
        max_steps=2,
        limit_val_batches=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.fit(task, data)
    assert task.class_names == ["non-lens", "lens"]
