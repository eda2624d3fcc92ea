"""Simulated strong-lens fields: whole fields with lens boxes, and stamps around every object."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.data._utils.collate import default_collate

from galvision.data import keys
from galvision.data.datamodules import GalaxyDataModule, SurveyDataset, ordered_split
from galvision.data.noise import band_noise
from galvision.data.simulate import OBJECT_KINDS, LensFieldConfig, cached_lens_fields
from galvision.errors import ConfigError

LENS = OBJECT_KINDS.index("lens")


def collate_fields(samples: list[dict]) -> dict:
    """Stack every entry of the samples except ``boxes``, kept as a list of (n_i, 4) tensors."""
    if keys.BOXES not in samples[0]:
        return default_collate(samples)
    batch = default_collate([{k: v for k, v in s.items() if k != keys.BOXES} for s in samples])
    batch[keys.BOXES] = [sample[keys.BOXES] for sample in samples]
    return batch


class LensFieldDataset(SurveyDataset):
    """Clean fields with an observing PSF, their label (1 if they hold a lens) and lens boxes."""

    def __init__(
        self, path: Path, indices: np.ndarray, train: bool, bands: tuple[str, ...], seed: int = 0
    ) -> None:
        super().__init__(path, indices, train, bands, seed)
        with h5py.File(self.path, "r") as file:
            self.boxes = file["boxes"][...]
            self.box_count = file["box_count"][...]

    def __getitem__(self, item: int) -> dict:
        sample = super().__getitem__(item)
        index = sample[keys.INDEX]
        sample[keys.BOXES] = torch.from_numpy(self.boxes[index, : self.box_count[index]].copy())
        return sample


class LensStampDataset(SurveyDataset):
    """Stamps centred on objects of the fields (rows of ``objects/``): label 1 for a lens."""

    def __init__(
        self,
        path: Path,
        rows: np.ndarray,
        train: bool,
        bands: tuple[str, ...],
        seed: int = 0,
        stamp_size: int = 64,
    ) -> None:
        super().__init__(path, rows, train, bands, seed)
        self.stamp_size = stamp_size
        with h5py.File(self.path, "r") as file:
            self.field = file["objects/field"][...]
            self.centre = np.stack([file["objects/x"][...], file["objects/y"][...]], axis=1)
            self.labels = (file["objects/kind"][...] == LENS).astype(np.int64)

    def _clean(self, index: int) -> torch.Tensor:
        field = super()._clean(int(self.field[index]))
        size, stamp = field.shape[-1], self.stamp_size
        left, top = (int(np.floor(c - stamp / 2 + 0.5)) for c in self.centre[index])
        # Zeros where the stamp overhangs the field: the clean sky is empty.
        out = torch.zeros((field.shape[0], stamp, stamp), dtype=field.dtype)
        x0, y0, x1, y1 = max(left, 0), max(top, 0), min(left + stamp, size), min(top + stamp, size)
        out[:, y0 - top : y1 - top, x0 - left : x1 - left] = field[:, y0:y1, x0:x1]
        return out


class LensFieldDataModule(GalaxyDataModule):
    """Simulated fields of strong lenses among galaxies and impostors, with a box per lens.

    Batches hold ``clean``, ``psf``, ``target_psf``, ``psf_fwhm``, ``index``, ``label`` (1 if
    the field holds a lens) and ``boxes``, a list of (n_i, 4) float32 tensors, x0, y0, x1, y1.

    Args:
        fields: simulation settings; the cache file is keyed by their hash.
        val_size: fields held out for validation (taken after the training fields).
        test_size: fields held out for testing (the last ones).
        simulation_workers: processes simulating the fields (0 = one per core).
        batch_size: fields per batch.
        num_workers: loader worker processes.
    """

    def __init__(
        self,
        fields: LensFieldConfig | None = None,
        val_size: int = 200,
        test_size: int = 200,
        simulation_workers: int = 0,
        batch_size: int = 16,
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers)
        self.save_hyperparameters()
        self.fields = fields or LensFieldConfig()
        self.fields.validate()
        band_noise(self.fields.bands, "data.fields.bands")
        ordered_split(self.fields.n_fields, val_size, test_size, "fields.n_fields")
        self.val_size = val_size
        self.test_size = test_size
        self.simulation_workers = simulation_workers

    @property
    def num_bands(self) -> int:
        return len(self.fields.bands)

    @property
    def image_size(self) -> int:
        return self.fields.field_size

    @property
    def class_names(self) -> list[str]:
        """Names of the field labels."""
        return ["no lens", "lens"]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def prepare_data(self) -> None:
        """Simulate the fields into the cache unless they are there already (one process)."""
        cached_lens_fields(self.fields, workers=self.simulation_workers)

    def split_indices(self) -> dict[str, np.ndarray]:
        """The fixed split of fields: training first, then validation, then test."""
        return ordered_split(self.fields.n_fields, self.val_size, self.test_size, "fields.n_fields")

    def setup(self, stage: str | None = None) -> None:
        path = cached_lens_fields(self.fields, workers=self.simulation_workers)
        for split, indices in self.split_indices().items():
            self.datasets[split] = LensFieldDataset(
                path, indices, split == "train", self.fields.bands, self.fields.seed
            )

    def _loader(self, split: str, shuffle: bool = False) -> DataLoader:
        loader = super()._loader(split, shuffle)
        # Fields hold different numbers of boxes, which the default collate cannot stack.
        loader.collate_fn = collate_fields
        return loader


class LensStampDataModule(LensFieldDataModule):
    """Lens / non-lens classification of stamps cut around every object of the lens fields.

    The single-stamp setting of the Lens Finding Challenge (Metcalf et al. 2019): lenses are
    label 1; galaxies, rings, spirals, mergers and red galaxies with blue companions label 0.
    Splits are made by field, so a field never feeds two splits.

    Args:
        fields: simulation settings; the cache file is keyed by their hash.
        stamp_size: side of the stamps in pixels, centred on each object.
        val_size: fields whose objects are held out for validation.
        test_size: fields whose objects are held out for testing.
        simulation_workers: processes simulating the fields (0 = one per core).
        batch_size: stamps per batch.
        num_workers: loader worker processes.
    """

    def __init__(
        self,
        fields: LensFieldConfig | None = None,
        stamp_size: int = 64,
        val_size: int = 200,
        test_size: int = 200,
        simulation_workers: int = 0,
        batch_size: int = 64,
        num_workers: int = 0,
    ) -> None:
        super().__init__(fields, val_size, test_size, simulation_workers, batch_size, num_workers)
        if not 8 <= stamp_size <= self.fields.field_size:
            raise ConfigError(
                f"data.stamp_size={stamp_size} must lie in [8, fields.field_size="
                f"{self.fields.field_size}]"
            )
        self.stamp_size = stamp_size

    @property
    def image_size(self) -> int:
        return self.stamp_size

    @property
    def class_names(self) -> list[str]:
        """Names of the stamp labels."""
        return ["non-lens", "lens"]

    def setup(self, stage: str | None = None) -> None:
        path = cached_lens_fields(self.fields, workers=self.simulation_workers)
        with h5py.File(path, "r") as file:
            field_of_object = file["objects/field"][...]
        for split, fields in self.split_indices().items():
            self.datasets[split] = LensStampDataset(
                path,
                np.flatnonzero(np.isin(field_of_object, fields)),
                train=split == "train",
                bands=self.fields.bands,
                seed=self.fields.seed,
                stamp_size=self.stamp_size,
            )

    def catalogue(self) -> LensStampDataset:
        """Every object's stamp, in object order, with its evaluation PSF and noise."""
        path = cached_lens_fields(self.fields, workers=self.simulation_workers)
        with h5py.File(path, "r") as file:
            count = len(file["objects/field"])
        return LensStampDataset(
            path,
            np.arange(count),
            train=False,
            bands=self.fields.bands,
            seed=self.fields.seed,
            stamp_size=self.stamp_size,
        )
