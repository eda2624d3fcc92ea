"""Domain randomisation: several simulated surveys (presets) served as one, in set proportions."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import ConcatDataset, DataLoader

from galvision.data import keys
from galvision.data.datamodules import GalaxyDataModule, SurveyDataModule, SurveyDataset
from galvision.data.samplers import ResumableWeightedSampler
from galvision.data.simulate.framing import noise_kernel
from galvision.data.simulate.presets import asinh_display_row
from galvision.errors import ConfigError


class MixedSurveyDataset(ConcatDataset):
    """Surveys concatenated, every sample with the keys any of them gives.

    A survey shown in galvision's display space gets an asinh ``DISPLAY`` row when another is
    shown as its volunteers saw it, and an unframed one an identity ``NOISE_KERNEL`` when
    another is framed, so that batches mixing them collate.
    """

    def __init__(self, parts: list[SurveyDataset]) -> None:
        super().__init__(parts)
        self.bands = len(parts[0].sky_sigma)
        self.any_display = any(part.display is not None for part in parts)
        self.any_framed = any(part.frame_scale is not None for part in parts)
        self.identity_kernel = torch.from_numpy(noise_kernel(1.0))

    def __getitem__(self, item: int) -> dict:
        sample = super().__getitem__(item)
        if self.any_display and keys.DISPLAY not in sample:
            sample[keys.DISPLAY] = asinh_display_row(self.bands)
        if self.any_framed and keys.NOISE_KERNEL not in sample:
            sample[keys.NOISE_KERNEL] = self.identity_kernel
        sample[keys.INDEX] = item  # unique across surveys: fixes evaluation noise per sample
        return sample


class MixedSurveyDataModule(GalaxyDataModule):
    """Several simulated surveys trained on as one, for models that must meet any of them.

    Each survey keeps its own preset (pixel scale, PSFs, noise, display) and split; their
    splits are concatenated. Training draws from survey ``i`` with probability ``weights[i]``
    (default: in proportion to their sizes). Every survey must have the same band count, stamp
    size and classes.

    Args:
        surveys: the datamodules of the surveys mixed.
        weights: relative share of training samples from each survey.
        batch_size: images per batch.
        num_workers: loader worker processes.
    """

    def __init__(
        self,
        surveys: list[SurveyDataModule],
        weights: list[float] | None = None,
        batch_size: int = 64,
        num_workers: int = 2,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers)
        if not surveys:
            raise ConfigError("data.surveys must list at least one survey")
        if weights is not None and (
            len(weights) != len(surveys) or min(weights) < 0 or not sum(weights) > 0
        ):
            raise ConfigError(
                f"data.weights={weights} must give one non-negative weight per survey "
                f"({len(surveys)}), not all zero"
            )
        for name in ("num_bands", "image_size", "class_names"):
            values = [getattr(survey, name) for survey in surveys]
            if any(value != values[0] for value in values):
                raise ConfigError(f"data.surveys differ in {name}: {values}")
        self.surveys = surveys
        self.weights = weights

    @property
    def num_bands(self) -> int:
        return self.surveys[0].num_bands

    @property
    def image_size(self) -> int:
        return self.surveys[0].image_size

    @property
    def class_names(self) -> list[str] | None:
        return self.surveys[0].class_names

    @property
    def num_classes(self) -> int | None:
        return self.surveys[0].num_classes

    def prepare_data(self) -> None:
        """Simulate every survey into the cache unless it is there already."""
        for survey in self.surveys:
            survey.prepare_data()

    def setup(self, stage: str | None = None) -> None:
        for survey in self.surveys:
            survey.setup(stage)
        for split in ("train", "val", "test"):
            self.datasets[split] = MixedSurveyDataset(
                [survey.datasets[split] for survey in self.surveys]
            )

    def catalogue(self) -> MixedSurveyDataset:
        """Every galaxy of every survey, survey after survey (``INDEX``: the position)."""
        return MixedSurveyDataset([survey.catalogue() for survey in self.surveys])

    def sample_weights(self) -> torch.Tensor:
        """Weight of every training sample, so that survey ``i`` gives ``weights[i]`` of them."""
        train = self.datasets["train"]
        sizes = np.diff([0, *train.cumulative_sizes])
        shares = np.asarray(self.weights if self.weights is not None else sizes, dtype=float)
        per_sample = np.repeat(shares / shares.sum() / np.maximum(sizes, 1), sizes)
        return torch.from_numpy(per_sample)

    def train_dataloader(self) -> DataLoader:
        sampler = ResumableWeightedSampler(self.sample_weights(), len(self.datasets["train"]))
        return self._loader("train", sampler=sampler)
