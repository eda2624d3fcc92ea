"""Lightning datamodules: the shared GalaxyDataModule and the simulated survey."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import ConcatDataset, DataLoader, Dataset, RandomSampler, Sampler
from torchdata.stateful_dataloader import StatefulDataLoader

from galvision.data import keys
from galvision.data.labelled import check_label_budget, labelled_training
from galvision.data.random_state import RandomStateDataset
from galvision.data.simulate import CLASS_NAMES, SurveyConfig, cached_survey
from galvision.data.simulate.framing import noise_kernel
from galvision.data.simulate.presets import DECALS, SurveyPreset, preset_display, preset_noise
from galvision.errors import ConfigError, DataError


def ordered_split(total: int, val_size: int, test_size: int, what: str) -> dict[str, np.ndarray]:
    """Training first, then validation, then test indices; ``what`` names the total in errors."""
    for name, size in (("val_size", val_size), ("test_size", test_size)):
        if size < 1:
            raise ConfigError(f"data.{name}={size} must be at least 1")
    if val_size + test_size >= total:
        raise ConfigError(
            f"data: val_size={val_size} + test_size={test_size} leave no training examples "
            f"out of {what}={total}"
        )
    n_train = total - val_size - test_size
    return {
        "train": np.arange(n_train),
        "val": np.arange(n_train, n_train + val_size),
        "test": np.arange(total - test_size, total),
    }


class GalaxyDataModule(LightningDataModule):
    """Loaders over dict-sample datasets; subclasses build the datasets in ``setup``.

    ``num_bands`` and ``image_size`` are checked against the model's backbone before training.
    """

    def __init__(self, batch_size: int = 64, num_workers: int = 2) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.datasets: dict[str, Dataset] = {}

    @property
    def num_bands(self) -> int | None:
        """Bands of every image this datamodule serves, or None when unknown."""
        return None

    @property
    def image_size(self) -> int | None:
        """Side in pixels of every image this datamodule serves, or None when unknown."""
        return None

    def _loader(
        self, split: str, shuffle: bool = False, sampler: Sampler | None = None
    ) -> DataLoader:
        """Batches of a split; training batches (shuffled or sampled) drop the last partial one.

        Training loaders keep their place in the epoch and their workers' random state in each
        checkpoint (torchdata's ``StatefulDataLoader``), so a fit resumed mid-epoch sees the rest
        of that epoch's galaxies in the same order, drawn as they would have been, not the
        epoch again from its start.
        """
        training = shuffle or sampler is not None
        if training:
            dataset, loader = RandomStateDataset(self.datasets[split]), StatefulDataLoader
        else:
            dataset, loader = self.datasets[split], DataLoader
        return loader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            sampler=sampler,
            drop_last=training,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )

    def catalogue(self) -> Dataset:
        """Every sample once, as evaluation serves it, each with a unique ``INDEX`` (the row)."""
        self.setup("predict")
        return ConcatDataset([self.datasets[split] for split in ("train", "val", "test")])

    def train_dataloader(self) -> DataLoader:
        """Shuffled batches; a set smaller than a batch (few labels) is drawn with replacement."""
        train = self.datasets["train"]
        if len(train) < self.batch_size:
            sampler = RandomSampler(train, replacement=True, num_samples=self.batch_size)
            return self._loader("train", sampler=sampler)
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def predict_dataloader(self) -> DataLoader:
        return self._loader("test")


class DerivedDataModule(GalaxyDataModule):
    """A datamodule serving images of another one, ``source``: its bands and size."""

    source: GalaxyDataModule

    @property
    def num_bands(self) -> int | None:
        return self.source.num_bands

    @property
    def image_size(self) -> int | None:
        return self.source.image_size


class SurveyDataset(Dataset):
    """Clean simulated galaxies with an observing PSF each, read lazily from the HDF5 cache.

    Training samples draw a PSF from the bank at random every time; evaluation samples get a
    PSF fixed by their index, so a validation or test set never changes. ``clean`` replaces
    the survey's galaxies by other clean images (e.g. real galaxies) seen through its PSFs.
    Every sample carries the noise of its ``bands`` (``sky_sigma``, ``gain``) for the
    observation. A morphology survey's samples carry their ``label``, and ``params`` holds the
    stored parameters named by ``parameters``, in that order. ``preset`` gives the noise of
    the bands and the display; galaxies framed by their size (``preset.frame_r90``) get a PSF
    of the preset's seeing in their own pixels, and a kernel correlating their noise.
    """

    def __init__(
        self,
        path: Path,
        indices: np.ndarray,
        train: bool,
        bands: Sequence[str],
        seed: int = 0,
        clean: np.ndarray | None = None,
        parameters: Sequence[str] = (),
        preset: SurveyPreset = DECALS,
    ) -> None:
        self.path = Path(path)
        self.sky_sigma, self.gain = preset_noise(preset, bands)
        self.preset = preset
        self.display = preset_display(preset, bands)
        self.clean = clean
        self.indices = np.asarray(indices)
        self.train = train
        self.seed = seed
        with h5py.File(self.path, "r") as file:
            self.psf_bank = torch.from_numpy(file["psf_ground"][...])
            self.psf_fwhm = torch.from_numpy(file["psf_ground_fwhm"][...])
            self.target_psf = torch.from_numpy(file["psf_target"][...])
            self.labels = file[keys.LABEL][...] if keys.LABEL in file else None
            self.params = read_parameters(file, parameters)
            pixel_scale = float(file.attrs["pixel_scale"])
            framed = preset.frame_r90 is not None and clean is None
            self.frame_scale = file["params/frame_scale"][...] if framed else None
        self.psf_pixels = self.psf_fwhm.numpy() / pixel_scale
        self.pixel_scale = pixel_scale
        self._file: h5py.File | None = None

    def __len__(self) -> int:
        return len(self.indices)

    def _clean(self, index: int) -> torch.Tensor:
        if self.clean is not None:
            return torch.from_numpy(self.clean[index])
        if self._file is None:  # opened per worker process: h5py handles do not survive a fork
            self._file = h5py.File(self.path, "r")
        return torch.from_numpy(self._file["clean"][index])

    def _psf_choice(self, index: int) -> int:
        # Training draws anew from the global state (seeded per worker); evaluation by index.
        seed = np.random.randint(2**31) if self.train else [self.seed, 7, index]
        rng = np.random.default_rng(seed)
        if self.frame_scale is None:
            return int(rng.integers(len(self.psf_bank)))
        wanted = rng.uniform(*self.preset.psf_fwhm_range) / self.frame_scale[index]
        return int(np.argmin(np.abs(self.psf_pixels - wanted)))

    def _seeing(self, index: int, psf: int) -> torch.Tensor:
        """FWHM in arcsec on the sky of bank PSF ``psf`` seen in galaxy ``index``'s pixels."""
        if self.frame_scale is None:
            return self.psf_fwhm[psf]
        return torch.tensor(self.psf_pixels[psf] * self.frame_scale[index], dtype=torch.float32)

    def __getitem__(self, item: int) -> dict:
        index = int(self.indices[item])
        psf = self._psf_choice(index)
        sample = {
            keys.CLEAN: self._clean(index),
            keys.PSF: self.psf_bank[psf],
            keys.TARGET_PSF: self.target_psf,
            keys.PSF_FWHM: self._seeing(index, psf),
            keys.SKY_SIGMA: self.sky_sigma,
            keys.GAIN: self.gain,
            keys.INDEX: index,
        }
        if self.frame_scale is not None:
            resampling = self.pixel_scale / float(self.frame_scale[index])
            sample[keys.NOISE_KERNEL] = torch.from_numpy(noise_kernel(resampling))
        if self.display is not None:
            sample[keys.DISPLAY] = self.display
        if self.labels is not None:
            sample[keys.LABEL] = torch.tensor(int(self.labels[index]), dtype=torch.int64)
        if self.params is not None:
            sample[keys.PARAMS] = self.params[index]
        return sample


def read_parameters(file: h5py.File, names: Sequence[str]) -> torch.Tensor | None:
    """Stored per-galaxy parameters ``params/<name>`` as float32 (N, len(names)), None if none."""
    if not names:
        return None
    stored = sorted(file["params"]) if "params" in file else []
    missing = [name for name in names if name not in stored]
    if missing:
        raise ConfigError(
            f"data.stored_parameters: {missing} not in the survey; it stores {stored}"
        )
    columns = [file["params"][name][...] for name in names]
    return torch.from_numpy(np.stack(columns, axis=1).astype(np.float32))


class SurveyDataModule(GalaxyDataModule):
    """Simulated ground-based survey (GalSim), built once into the cache, split train/val/test.

    Args:
        survey: simulation settings; the cache file is keyed by their hash.
        val_size: galaxies held out for validation (taken after the training galaxies).
        test_size: galaxies held out for testing (the last ones of the survey).
        simulation_workers: processes simulating the survey (0 = one per core).
        labels_per_class: keep only this many training galaxies per class (few-shot; needs
            ``survey.catalogue: morphology``), drawn with the survey's seed.
        label_fraction: keep only this share of each class's training galaxies (at least one).
        stored_parameters: stored simulation parameters served as ``params`` (e.g. ``[hlr, q]``).
        batch_size: images per batch.
        num_workers: loader worker processes.
    """

    def __init__(
        self,
        survey: SurveyConfig | None = None,
        val_size: int = 500,
        test_size: int = 500,
        simulation_workers: int = 0,
        labels_per_class: int | None = None,
        label_fraction: float | None = None,
        stored_parameters: list[str] | None = None,
        batch_size: int = 64,
        num_workers: int = 2,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers)
        self.save_hyperparameters()
        self.survey = survey or SurveyConfig()
        self.survey.validate()
        preset_noise(self.survey.preset, self.survey.bands)
        check_label_budget(labels_per_class, label_fraction)
        budget = labels_per_class if label_fraction is None else label_fraction
        if budget is not None and self.survey.catalogue != "morphology":
            raise ConfigError(
                f"data: a label budget ({budget}) needs survey.catalogue='morphology', "
                f"not {self.survey.catalogue!r}"
            )
        self.labels_per_class = labels_per_class
        self.label_fraction = label_fraction
        self.stored_parameters = list(stored_parameters or ())
        ordered_split(self.survey.n_galaxies, val_size, test_size, "survey.n_galaxies")
        self.val_size = val_size
        self.test_size = test_size
        self.simulation_workers = simulation_workers

    @property
    def num_bands(self) -> int:
        return len(self.survey.bands)

    @property
    def image_size(self) -> int:
        return self.survey.stamp_size

    @property
    def class_names(self) -> list[str] | None:
        """Class names indexed by label for a morphology survey, else None."""
        return list(CLASS_NAMES) if self.survey.catalogue == "morphology" else None

    @property
    def num_classes(self) -> int | None:
        """Number of morphology classes, or None for a survey without labels."""
        return None if self.class_names is None else len(self.class_names)

    def parameter_statistics(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation of each regression parameter over the training set."""
        train = self.datasets["train"]
        values = train.params[train.indices].double()
        mean = values.nanmean(0)
        std = (values - mean).square().nanmean(0).sqrt()
        undefined = [n for n, m in zip(self.stored_parameters, mean, strict=True) if m.isnan()]
        if undefined:
            raise DataError(f"data.stored_parameters: {undefined} are NaN for every galaxy")
        # A parameter that is constant (or set once) over the training set is left unscaled.
        return mean.float(), torch.where(std > 1e-6, std, 1.0).float()

    def prepare_data(self) -> None:
        """Simulate the survey into the cache unless it is there already (one process)."""
        cached_survey(self.survey, workers=self.simulation_workers)

    def split_indices(self) -> dict[str, np.ndarray]:
        """The fixed split: training first, then validation, then test galaxies."""
        return ordered_split(
            self.survey.n_galaxies, self.val_size, self.test_size, "survey.n_galaxies"
        )

    def setup(self, stage: str | None = None) -> None:
        path = cached_survey(self.survey, workers=self.simulation_workers)
        splits = self.split_indices()
        if self.labels_per_class is not None or self.label_fraction is not None:
            with h5py.File(path, "r") as file:
                labels = file[keys.LABEL][...]
            splits["train"] = labelled_training(
                splits["train"],
                labels,
                self.class_names,
                self.survey.seed,
                self.labels_per_class,
                self.label_fraction,
            )
        for split, indices in splits.items():
            self.datasets[split] = self._survey_split(path, indices, train=split == "train")

    def _survey_split(self, path: Path, indices: np.ndarray, train: bool) -> SurveyDataset:
        return SurveyDataset(
            path,
            indices,
            train=train,
            bands=self.survey.bands,
            seed=self.survey.seed,
            parameters=self.stored_parameters,
            preset=self.survey.preset,
        )

    def catalogue(self) -> SurveyDataset:
        """Every galaxy of the survey in file order, each with its evaluation PSF and noise."""
        path = cached_survey(self.survey, workers=self.simulation_workers)
        return self._survey_split(path, np.arange(self.survey.n_galaxies), train=False)
