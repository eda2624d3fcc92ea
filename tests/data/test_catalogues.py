"""Labelled catalogue readers, their resize rule, and the split / few-shot datamodule."""

import io
import logging
import pickle
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from astropy.io import fits
from jsonargparse import ArgumentParser
from PIL import Image

from conftest import SHARED_DATA
from galvision.data.catalogue_datamodule import CatalogueDataModule
from galvision.data.catalogues import (
    EncodedImageHDF5Dataset,
    Galaxy10Dataset,
    MergedClassesDataset,
    fit_to_size,
)
from galvision.data.csv_catalogues import FitsCatalogueDataset, ImageFolderCatalogueDataset
from galvision.data.datamodules import GalaxyDataModule
from galvision.data.intensity import to_flux
from galvision.data.keys import IMAGE, INDEX, LABEL, NAME
from galvision.errors import ConfigError, DataError

CLASSES = ["smooth", "spiral", "merger"]


def pixels(n: int, side: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, side, side, channels), dtype=np.uint8)


def as_bands(picture: np.ndarray) -> np.ndarray:
    """(H, W, RGB) uint8 as the expected (bands, H, W) display values, bluest band first."""
    return picture[..., ::-1].transpose(2, 0, 1) / np.float32(255)


def write_galaxy10(path: Path, images: np.ndarray, labels: list[int]) -> Path:
    with h5py.File(path, "w") as file:
        file["images"] = images
        file["ans"] = np.asarray(labels, dtype=np.uint8)
    return path


def png_bytes(picture: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()


def write_encoded(path: Path, encoded: list[bytes], labels: list[int]) -> Path:
    with h5py.File(path, "w") as file:
        data = file.create_dataset("jpeg", (len(encoded),), dtype=h5py.vlen_dtype(np.uint8))
        for row, blob in enumerate(encoded):
            data[row] = np.frombuffer(blob, dtype=np.uint8)
        file["label"] = np.asarray(labels, dtype=np.int8)
        file.attrs["label_names"] = CLASSES
    return path


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_resize_rule_crops_the_central_fraction_then_averages_areas() -> None:
    image = np.random.default_rng(1).random((2, 16, 20)).astype(np.float32)
    square = image[:, :, 2:18]  # central square of a non-square image
    np.testing.assert_array_equal(fit_to_size(image, 16).numpy(), square)
    half = square[:, 4:12, 4:12]
    np.testing.assert_array_equal(fit_to_size(image, 8, crop_fraction=0.5).numpy(), half)
    block_mean = half.reshape(2, 4, 2, 4, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(fit_to_size(image, 4, 0.5).numpy(), block_mean, rtol=1e-5)
    assert fit_to_size(image, 32).shape == (2, 32, 32)


def test_galaxy10_round_trip_with_crop_indices_and_pickling(tmp_path: Path) -> None:
    images = pixels(4, 16)
    path = write_galaxy10(tmp_path / "Galaxy10.h5", images, [0, 9, 3, 1])
    dataset = Galaxy10Dataset(path, size=8, crop_fraction=0.5, indices=[1, 3])
    assert len(dataset) == 2 and dataset.class_names[9] == "edge_on_with_bulge"
    item = dataset[0]
    assert item[IMAGE].dtype == torch.float32 and item[IMAGE].shape == (3, 8, 8)
    np.testing.assert_allclose(item[IMAGE].numpy(), as_bands(images[1])[:, 4:12, 4:12], atol=1e-6)
    assert item[LABEL].dtype == torch.int64 and item[LABEL].item() == 9
    assert item[NAME] == "Galaxy10-1" and item[INDEX] == 0
    clone = pickle.loads(pickle.dumps(dataset))
    assert torch.equal(clone[1][IMAGE], dataset[1][IMAGE])


def test_galaxy10_refuses_band_count_and_label_out_of_range(tmp_path: Path) -> None:
    path = write_galaxy10(tmp_path / "g10.h5", pixels(3, 8), [0, 1, 12])
    with pytest.raises(DataError, match=r"g10\.h5: 3 band\(s\), expected bands=1"):
        Galaxy10Dataset(path, size=8, bands=1)
    with pytest.raises(DataError, match=r"g10\.h5:ans\[2\]: label 12 out of range for 10"):
        Galaxy10Dataset(path, size=8)


def test_encoded_hdf5_round_trip_class_names_and_corrupt_row(tmp_path: Path) -> None:
    images = pixels(3, 8)
    path = write_encoded(tmp_path / "enc.h5", [png_bytes(p) for p in images], [2, 0, 1])
    dataset = EncodedImageHDF5Dataset(path, size=8)
    assert dataset.class_names == CLASSES and dataset.labels.tolist() == [2, 0, 1]
    np.testing.assert_allclose(dataset[2][IMAGE].numpy(), as_bands(images[2]), atol=1e-6)
    assert dataset[2][NAME] == "enc-2"
    bad = write_encoded(tmp_path / "bad.h5", [png_bytes(images[0]), b"not a picture"], [0, 1])
    with pytest.raises(DataError, match=r"bad\.h5\[1\]: cannot read"):
        EncodedImageHDF5Dataset(bad, size=8)
    grey = write_encoded(tmp_path / "grey.h5", [png_bytes(images[0, ..., 0])], [0])
    with pytest.raises(DataError, match=r"grey\.h5\[0\]: 1 band\(s\), expected bands=3"):
        EncodedImageHDF5Dataset(grey, size=8)
    with pytest.raises(DataError, match=r"enc\.h5: no dataset 'pixels'"):
        EncodedImageHDF5Dataset(path, size=8, image_key="pixels")


def test_merged_classes_rename_merge_and_drop(tmp_path: Path) -> None:
    images = pixels(5, 8)
    path = write_encoded(tmp_path / "enc.h5", [png_bytes(p) for p in images], [0, 1, 2, 1, 0])
    base = EncodedImageHDF5Dataset(path, size=8, classes=["cw", "acw", "unsure"])
    merged = MergedClassesDataset(base, {"cw": "spiral", "acw": "spiral", "unsure": None})
    assert merged.class_names == ["spiral"] and len(merged) == 4
    assert merged.names == ["enc-0", "enc-1", "enc-3", "enc-4"]
    torch.testing.assert_close(merged[2][IMAGE], base[3][IMAGE])
    renamed = MergedClassesDataset(base, {"acw": None})
    assert renamed.class_names == ["cw", "unsure"] and renamed.labels.tolist() == [0, 1, 0]
    with pytest.raises(ConfigError, match=r"data.merge: unknown class\(es\) \['spirl'\]"):
        MergedClassesDataset(base, {"spirl": "spiral"})
    with pytest.raises(DataError, match="drops every example"):
        MergedClassesDataset(base, dict.fromkeys(["cw", "acw", "unsure"]))


@pytest.mark.skipif(
    not (SHARED_DATA / "gz1_sdss_subset.h5").is_file(),
    reason=f"real-data set {SHARED_DATA / 'gz1_sdss_subset.h5'} is absent",
)
def test_gz1_sdss_subset_reads_as_six_classes() -> None:
    dataset = EncodedImageHDF5Dataset(SHARED_DATA / "gz1_sdss_subset.h5", size=64)
    assert len(dataset) == 1171 and len(dataset.class_names) == 6
    assert dataset.labels.min() == 0 and dataset.labels.max() == 5
    assert dataset.images.shape == (1171, 3, 64, 64)
    assert dataset.images.min() >= 0 and dataset.images.max() <= 1
    assert dataset.images.std() > 0.01


def test_image_folder_catalogue_round_trip_with_class_names(tmp_path: Path) -> None:
    images = pixels(2, 8)
    (tmp_path / "cutouts").mkdir()
    for i, picture in enumerate(images):
        Image.fromarray(picture).save(tmp_path / "cutouts" / f"gal{i}.png")
    csv = write_csv(
        tmp_path / "cat.csv", "path,label", ["cutouts/gal0.png,merger", "cutouts/gal1.png,0"]
    )
    dataset = ImageFolderCatalogueDataset(csv, size=8, classes=CLASSES)
    assert dataset.labels.tolist() == [2, 0] and dataset.names == ["gal0", "gal1"]
    np.testing.assert_allclose(dataset[1][IMAGE].numpy(), as_bands(images[1]), atol=1e-6)


@pytest.mark.parametrize(
    ("rows", "classes", "message"),
    [
        (["a.png,bar"], CLASSES, r"cat\.csv line 2: unknown class 'bar'"),
        (["a.png,0", "a.png,3"], CLASSES, r"cat\.csv line 3: label 3 out of range"),
        (["a.png,spiral"], None, r"cat\.csv line 2: label 'spiral' is not a class index"),
        ([], None, r"cat\.csv: empty catalogue"),
        (["missing.png,0"], None, r"cat\.csv line 2: .*missing\.png: cannot read"),
    ],
)
def test_image_folder_catalogue_errors_name_the_line(
    tmp_path: Path, rows: list[str], classes: list[str] | None, message: str
) -> None:
    Image.fromarray(pixels(1, 8)[0]).save(tmp_path / "a.png")
    csv = write_csv(tmp_path / "cat.csv", "path,label", rows)
    with pytest.raises(DataError, match=message):
        ImageFolderCatalogueDataset(csv, size=8, classes=classes)


def test_image_folder_catalogue_missing_column(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "cat.csv", "file,label", ["a.png,0"])
    with pytest.raises(DataError, match=r"cat\.csv: no column path \(has file, label\)"):
        ImageFolderCatalogueDataset(csv, size=8)


def flux_cube(bands: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(-1.0, 1.0, (bands, 8, 8)).astype(np.float32)


def test_fits_catalogue_layouts_give_the_same_flux(tmp_path: Path) -> None:
    cube = flux_cube()
    hdus = [fits.PrimaryHDU(), *(fits.ImageHDU(band) for band in cube)]
    fits.HDUList(hdus).writeto(tmp_path / "mef.fits")
    fits.PrimaryHDU(cube / 2).writeto(tmp_path / "cube.fits")
    for band, name in zip(cube, "grz", strict=True):
        fits.PrimaryHDU(band).writeto(tmp_path / f"one_{name}.fits")
    write_csv(tmp_path / "a.csv", "path,label", ["mef.fits,1", f"{tmp_path}/cube.fits,0"])
    write_csv(
        tmp_path / "b.csv", "path_g,path_r,path_z,label", ["one_g.fits,one_r.fits,one_z.fits,1"]
    )
    stacked = FitsCatalogueDataset(tmp_path / "a.csv", size=8, bands=3, flux_scale=[1, 1, 1])
    per_band = FitsCatalogueDataset(
        tmp_path / "b.csv", size=8, bands=3, path_column=["path_g", "path_r", "path_z"]
    )
    halved = FitsCatalogueDataset(tmp_path / "a.csv", size=8, bands=3, flux_scale=2.0)
    assert stacked.labels.tolist() == [1, 0] and stacked.class_names == ["0", "1"]
    for image in (stacked[0][IMAGE], halved[1][IMAGE], per_band[0][IMAGE]):
        np.testing.assert_allclose(to_flux(image).numpy(), cube, rtol=1e-4)
    assert per_band.names == ["one_g"]


def test_fits_catalogue_nan_policy_and_missing_extension(tmp_path: Path, caplog) -> None:
    cube = flux_cube()
    cube[1, 2, 3], cube[0, 0, 0] = np.nan, np.inf
    fits.PrimaryHDU(cube).writeto(tmp_path / "nan.fits")
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(cube[0]), fits.ImageHDU(cube[1])]).writeto(
        tmp_path / "two.fits"
    )
    csv = write_csv(tmp_path / "cat.csv", "path,label", ["nan.fits,0"])
    with caplog.at_level(logging.WARNING):
        dataset = FitsCatalogueDataset(csv, size=8, bands=3)
    assert "replaced 2 NaN/inf pixels by 0 in 1 image(s)" in caplog.text
    assert dataset[0][IMAGE][1, 2, 3] == 0 and torch.isfinite(dataset[0][IMAGE]).all()
    with pytest.raises(DataError, match=r"cat\.csv line 2: .*nan\.fits: 2 NaN/inf pixels"):
        FitsCatalogueDataset(csv, size=8, bands=3, nan_policy="raise")
    two = write_csv(tmp_path / "two.csv", "path,label", ["nan.fits,0", "two.fits,0"])
    with pytest.raises(DataError, match=r"two\.csv line 3: .*two\.fits: 2 band\(s\), expected"):
        FitsCatalogueDataset(two, size=8, bands=3)
    with pytest.raises(ConfigError, match="flux_scale has 2 entries"):
        FitsCatalogueDataset(csv, size=8, bands=3, flux_scale=[1.0, 2.0])


@pytest.fixture
def galaxy10(tmp_path: Path) -> Galaxy10Dataset:
    labels = [0] * 20 + [1] * 30 + [2] * 10
    path = write_galaxy10(tmp_path / "g10.h5", pixels(len(labels), 4), labels)
    return Galaxy10Dataset(path, size=4, classes=CLASSES)


def split_of(datamodule: CatalogueDataModule) -> dict[str, list[int]]:
    return {name: list(subset.indices) for name, subset in datamodule.datasets.items()}


def test_stratified_split_is_disjoint_seeded_and_proportional(galaxy10: Galaxy10Dataset) -> None:
    split = split_of(CatalogueDataModule(galaxy10, 0.2, 0.1, seed=3, batch_size=4))
    assert sorted(np.concatenate(list(split.values())).tolist()) == list(range(60))
    labels = galaxy10.labels
    assert np.bincount(labels[split["val"]]).tolist() == [4, 6, 2]
    assert np.bincount(labels[split["test"]]).tolist() == [2, 3, 1]
    assert split == split_of(CatalogueDataModule(galaxy10, 0.2, 0.1, seed=3, batch_size=4))
    assert split != split_of(CatalogueDataModule(galaxy10, 0.2, 0.1, seed=4, batch_size=4))


def test_few_shot_is_exact_seeded_and_from_training_only(galaxy10: Galaxy10Dataset) -> None:
    full = split_of(CatalogueDataModule(galaxy10, seed=1, batch_size=4))
    datamodule = CatalogueDataModule(galaxy10, seed=1, labels_per_class=5, batch_size=4)
    few = split_of(datamodule)
    assert set(few["train"]) < set(full["train"]) and few["val"] == full["val"]
    assert np.bincount(galaxy10.labels[few["train"]]).tolist() == [5, 5, 5]
    again = CatalogueDataModule(galaxy10, seed=1, labels_per_class=5, batch_size=4)
    assert few == split_of(again)
    assert datamodule.num_classes == 3 and datamodule.class_names == CLASSES
    assert (datamodule.num_bands, datamodule.image_size) == (3, 4)
    batch = next(iter(datamodule.train_dataloader()))
    assert batch[IMAGE].shape == (4, 3, 4, 4) and batch[LABEL].dtype == torch.int64


def test_datamodule_errors_name_the_class_or_split(galaxy10: Galaxy10Dataset) -> None:
    with pytest.raises(DataError, match="class 'merger' has 8 training examples, fewer than"):
        CatalogueDataModule(galaxy10, labels_per_class=9, batch_size=4)
    with pytest.raises(DataError, match="the val split is empty"):
        CatalogueDataModule(galaxy10, val_fraction=0.0, batch_size=4)
    with pytest.raises(ConfigError, match="labels_per_class or label_fraction, not both"):
        CatalogueDataModule(galaxy10, labels_per_class=2, label_fraction=0.5)
    with pytest.raises(ConfigError, match=r"label_fraction must lie in \(0, 1\], got 1.5"):
        CatalogueDataModule(galaxy10, label_fraction=1.5)


def test_label_fraction_keeps_a_share_of_every_class(galaxy10: Galaxy10Dataset) -> None:
    full = CatalogueDataModule(galaxy10, seed=1, batch_size=4).split_indices["train"]
    few = CatalogueDataModule(galaxy10, seed=1, label_fraction=0.01).split_indices["train"]
    labels = galaxy10.labels
    assert set(few) <= set(full)
    assert sorted(labels[few]) == sorted(np.unique(labels[full]))  # one of each class at 1 %
    half = CatalogueDataModule(galaxy10, seed=1, label_fraction=0.5).split_indices["train"]
    for label in np.unique(labels[full]):
        assert (labels[half] == label).sum() == round(0.5 * (labels[full] == label).sum())


def test_a_training_set_smaller_than_a_batch_fills_batches_with_replacement(
    galaxy10: Galaxy10Dataset,
) -> None:
    datamodule = CatalogueDataModule(galaxy10, seed=1, labels_per_class=2)  # batch_size 64
    batches = list(datamodule.train_dataloader())
    assert len(batches) == 1 and len(batches[0][LABEL]) == 64


def test_yaml_selects_the_datamodule_and_its_reader(tmp_path: Path) -> None:
    path = write_galaxy10(tmp_path / "g10.h5", pixels(20, 8), [0, 1] * 10)
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(GalaxyDataModule, "data")
    config = parser.parse_string(
        f"""
        data:
          class_path: galvision.data.catalogue_datamodule.CatalogueDataModule
          init_args:
            labels_per_class: 3
            batch_size: 2
            num_workers: 0
            dataset:
              class_path: galvision.data.catalogues.Galaxy10Dataset
              init_args: {{path: {path}, size: 4, crop_fraction: 0.5, classes: [a, b]}}
        """
    )
    datamodule = parser.instantiate(config).data
    assert isinstance(datamodule, CatalogueDataModule)
    assert datamodule.class_names == ["a", "b"] and datamodule.image_size == 4
    assert len(datamodule.datasets["train"]) == 6
