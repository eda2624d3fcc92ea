"""Weighted training draws: in proportion, and resumed mid-epoch from a loader's state."""

from __future__ import annotations

import pytest
import torch
from torchdata.stateful_dataloader import StatefulDataLoader

from galvision.data.samplers import ResumableWeightedSampler

ROWS = 40
WEIGHTS = torch.linspace(0.1, 1.0, ROWS)


def loader(sampler: ResumableWeightedSampler, workers: int) -> StatefulDataLoader:
    return StatefulDataLoader(list(range(ROWS)), batch_size=4, sampler=sampler, num_workers=workers)


def test_rows_are_drawn_in_proportion_to_their_weights():
    torch.manual_seed(0)
    weights = torch.zeros(ROWS)
    weights[:10], weights[10:20] = 3.0, 1.0  # rows 20 on never
    rows = torch.tensor(list(ResumableWeightedSampler(weights, 4000)))
    assert rows.max() < 20
    assert (rows < 10).float().mean().item() == pytest.approx(0.75, abs=0.03)


@pytest.mark.parametrize("workers", [0, 2])
def test_a_loader_resumed_mid_epoch_draws_what_it_would_have(workers: int):
    torch.manual_seed(0)
    sampler = ResumableWeightedSampler(WEIGHTS, ROWS)
    whole = [batch.tolist() for _ in range(2) for batch in loader(sampler, workers)]  # 2 epochs

    torch.manual_seed(0)
    stopped = loader(ResumableWeightedSampler(WEIGHTS, ROWS), workers)
    batches = iter(stopped)
    first = [next(batches).tolist() for _ in range(3)]
    state = stopped.state_dict()
    torch.manual_seed(123)  # whatever happened since: the state alone decides what comes next
    resumed = loader(ResumableWeightedSampler(WEIGHTS, ROWS), workers)
    resumed.load_state_dict(state)
    rest = [batch.tolist() for batch in resumed]
    rest += [batch.tolist() for batch in resumed]  # and the epoch after
    assert first + rest == whole
