"""Lightning datamodules: the shared GalaxyDataModule and the simulated survey."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader, Dataset

from galvision.data import keys
from galvision.data.simulate import SurveyConfig, cached_survey, check_survey_file
from galvision.errors import ConfigError


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

    def _loader(self, split: str, shuffle: bool = False) -> DataLoader:
        return DataLoader(
            self.datasets[split],
            batch_size=self.batch_size,
            shuffle=shuffle,
            drop_last=shuffle,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def predict_dataloader(self) -> DataLoader:
        return self._loader("test")


class SurveyDataset(Dataset):
    """Clean simulated galaxies with an observing PSF each, read lazily from the HDF5 cache.

    Training samples draw a PSF from the bank at random every time; evaluation samples get a
    PSF fixed by their index, so a validation or test set never changes. ``clean`` replaces
    the survey's galaxies by other clean images (e.g. real galaxies) seen through its PSFs.
    """

    def __init__(
        self,
        path: Path,
        indices: np.ndarray,
        train: bool,
        seed: int = 0,
        clean: np.ndarray | None = None,
    ) -> None:
        self.path = Path(path)
        self.clean = clean
        self.indices = np.asarray(indices)
        self.train = train
        self.seed = seed
        with h5py.File(self.path, "r") as file:
            self.psf_bank = torch.from_numpy(file["psf_ground"][...])
            self.psf_fwhm = torch.from_numpy(file["psf_ground_fwhm"][...])
            self.target_psf = torch.from_numpy(file["psf_target"][...])
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
        if self.train:
            return int(np.random.randint(len(self.psf_bank)))
        return int(np.random.default_rng([self.seed, 7, index]).integers(len(self.psf_bank)))

    def __getitem__(self, item: int) -> dict:
        index = int(self.indices[item])
        psf = self._psf_choice(index)
        return {
            keys.CLEAN: self._clean(index),
            keys.PSF: self.psf_bank[psf],
            keys.TARGET_PSF: self.target_psf,
            keys.PSF_FWHM: self.psf_fwhm[psf],
            keys.INDEX: index,
        }


class SurveyDataModule(GalaxyDataModule):
    """Simulated ground-based survey (GalSim), built once into the cache, split train/val/test.

    Args:
        survey: simulation settings; the cache file is keyed by their hash.
        val_size: galaxies held out for validation (taken after the training galaxies).
        test_size: galaxies held out for testing (the last ones of the survey).
        simulation_workers: processes simulating the survey (0 = one per core).
        batch_size: images per batch.
        num_workers: loader worker processes.
    """

    def __init__(
        self,
        survey: SurveyConfig | None = None,
        val_size: int = 500,
        test_size: int = 500,
        simulation_workers: int = 0,
        batch_size: int = 64,
        num_workers: int = 2,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers)
        self.save_hyperparameters()
        self.survey = survey or SurveyConfig()
        self.survey.validate()
        if val_size < 1 or test_size < 1 or val_size + test_size >= self.survey.n_galaxies:
            raise ConfigError(
                f"data: val_size={val_size} + test_size={test_size} leave no training galaxies "
                f"out of survey.n_galaxies={self.survey.n_galaxies}"
            )
        self.val_size = val_size
        self.test_size = test_size
        self.simulation_workers = simulation_workers

    @property
    def num_bands(self) -> int:
        return len(self.survey.bands)

    @property
    def image_size(self) -> int:
        return self.survey.stamp_size

    def prepare_data(self) -> None:
        """Simulate the survey into the cache unless it is there already (one process)."""
        cached_survey(self.survey, workers=self.simulation_workers)

    def split_indices(self) -> dict[str, np.ndarray]:
        """The fixed split: training first, then validation, then test galaxies."""
        n = self.survey.n_galaxies
        n_train = n - self.val_size - self.test_size
        return {
            "train": np.arange(n_train),
            "val": np.arange(n_train, n_train + self.val_size),
            "test": np.arange(n - self.test_size, n),
        }

    def setup(self, stage: str | None = None) -> None:
        path = cached_survey(self.survey, workers=self.simulation_workers)
        check_survey_file(path, self.survey)
        for split, indices in self.split_indices().items():
            self.datasets[split] = SurveyDataset(
                path, indices, train=split == "train", seed=self.survey.seed
            )
