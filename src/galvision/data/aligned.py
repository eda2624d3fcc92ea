"""Simulated galaxies served with a schematic symbol and a caption each, for alignment."""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from galvision.data import keys
from galvision.data.captions import caption
from galvision.data.datamodules import SurveyDataModule, SurveyDataset
from galvision.data.simulate.symbols import symbol_of
from galvision.errors import ConfigError

SYMBOL_STREAM = 11  # seed stream of the fixed symbols and captions of evaluation samples


class AlignedSurveyDataset(Dataset):
    """A survey split whose samples also carry ``SYMBOL`` and ``TEXT``, drawn from parameters.

    Training samples get a freshly varied symbol and caption every time; evaluation samples
    get ones fixed by their index.
    """

    def __init__(self, survey: SurveyDataset, symbol_size: int) -> None:
        self.survey = survey
        self.symbol_size = symbol_size
        with h5py.File(survey.path, "r") as file:
            self.table = {name: values[...] for name, values in file["params"].items()}
            self.table["label"] = file[keys.LABEL][...]

    def __len__(self) -> int:
        return len(self.survey)

    def parameters(self, index: int) -> dict[str, float]:
        """Every stored parameter of galaxy ``index`` (its position in the survey file)."""
        return {name: float(values[index]) for name, values in self.table.items()}

    def __getitem__(self, item: int) -> dict[str, Any]:
        sample = self.survey[item]
        index = int(sample[keys.INDEX])
        seed = (
            np.random.randint(2**31)
            if self.survey.train
            else [self.survey.seed, SYMBOL_STREAM, index]
        )
        rng = np.random.default_rng(seed)
        params = self.parameters(index)
        symbol = symbol_of(params, rng, self.symbol_size)
        return sample | {
            keys.SYMBOL: torch.from_numpy(symbol)[None],
            keys.TEXT: caption(params, rng),
        }


class AlignmentDataModule(SurveyDataModule):
    """The simulated morphology survey with a symbol and a caption for every galaxy.

    Args:
        symbol_size: side of the symbols in pixels; default the stamp size.
        **kwargs: as :class:`~galvision.data.datamodules.SurveyDataModule`.
    """

    def __init__(self, *args: Any, symbol_size: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.survey.catalogue != "morphology":
            raise ConfigError(
                "AlignmentDataModule needs survey.catalogue='morphology' (captions and symbols "
                f"come from morphology parameters), not {self.survey.catalogue!r}"
            )
        self.symbol_size = symbol_size or self.survey.stamp_size

    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        for split, dataset in list(self.datasets.items()):
            self.datasets[split] = AlignedSurveyDataset(dataset, self.symbol_size)
