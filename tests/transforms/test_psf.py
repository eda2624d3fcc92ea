"""RedrawPSF: each clean galaxy seen through another sample's PSF, in training only."""

import torch

from galvision.data import keys
from galvision.transforms import RedrawPSF
from galvision.transforms.psf import random_cycle


def batch_with_distinct_psfs(n: int = 5) -> dict:
    psf = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 3, 5, 5).clone()
    return {
        keys.CLEAN: torch.rand(n, 3, 8, 8),
        keys.PSF: psf,
        keys.PSF_FWHM: torch.arange(n, dtype=torch.float32),
        keys.TARGET_PSF: torch.rand(n, 3, 3, 3),
    }


def test_every_galaxy_gets_another_samples_psf_and_its_fwhm():
    batch = batch_with_distinct_psfs()
    out = RedrawPSF()(batch, "train")
    source = out[keys.PSF][:, 0, 0, 0].long()
    assert sorted(source.tolist()) == list(range(5))  # each PSF used once
    assert (source != torch.arange(5)).all()  # none kept its own
    assert torch.equal(out[keys.PSF_FWHM], source.float())
    assert out[keys.CLEAN] is batch[keys.CLEAN] and out[keys.TARGET_PSF] is batch[keys.TARGET_PSF]


def test_cycles_are_fresh_at_every_call_and_reach_every_sample():
    cycles = {tuple(random_cycle(4).tolist()) for _ in range(200)}
    assert len(cycles) == 6  # the (4 - 1)! single cycles through four samples
    for cycle in cycles:
        position, visited = 0, set()
        for _ in range(4):
            visited.add(position)
            position = cycle[position]
        assert visited == {0, 1, 2, 3}


def test_evaluation_real_observations_and_a_shared_psf_pass_unchanged():
    batch = batch_with_distinct_psfs()
    assert RedrawPSF()(batch, "val") is batch
    real = {keys.IMAGE: torch.rand(5, 3, 8, 8), keys.PSF: batch[keys.PSF]}
    assert RedrawPSF()(real, "train") is real
    shared = {**batch, keys.PSF: batch[keys.PSF][:1]}
    assert RedrawPSF()(shared, "train") is shared
