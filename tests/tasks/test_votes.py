"""Galaxy Zoo vote counts: the Dirichlet-multinomial loss, a CSV catalogue with votes, the task."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.stats import dirichlet_multinomial

from galvision.backbones import Backbone
from galvision.data import keys
from galvision.data.csv_catalogues import ImageFolderCatalogueDataset
from galvision.errors import ConfigError, DataError
from galvision.tasks import ClassificationTask
from galvision.tasks.votes import dirichlet_multinomial_nll


def test_nll_is_scipys_dirichlet_multinomial_and_skips_rows_without_votes():
    alpha = np.array([[2.0, 0.5, 1.5], [0.3, 4.0, 1.0], [1.0, 1.0, 1.0]])
    votes = np.array([[5.0, 1.0, 3.0], [0.0, 12.0, 2.0], [0.0, 0.0, 0.0]])
    rows = zip(alpha[:2], votes[:2], strict=True)
    expected = -np.mean([dirichlet_multinomial.logpmf(v, a, v.sum()) for a, v in rows])
    nll = dirichlet_multinomial_nll(torch.tensor(np.log(alpha)), torch.tensor(votes))
    assert nll.item() == pytest.approx(expected, rel=1e-10)


def test_fitting_the_votes_makes_the_softmax_their_fractions():
    votes = torch.tensor([[30.0, 8.0, 2.0], [1.0, 1.0, 18.0]])
    logits = torch.zeros(2, 3, requires_grad=True)
    optimizer = torch.optim.Adam([logits], lr=0.05)
    for _ in range(600):
        optimizer.zero_grad()
        dirichlet_multinomial_nll(logits, votes).backward()
        optimizer.step()
    fractions = votes / votes.sum(-1, keepdim=True)
    assert torch.allclose(logits.softmax(-1), fractions, atol=0.03)


def write_voted_catalogue(folder: Path, rows: list[str]) -> Path:
    for i in range(3):
        picture = np.random.default_rng(i).integers(0, 255, (16, 16, 3), dtype=np.uint8)
        Image.fromarray(picture).save(folder / f"g{i}.png")
    path = folder / "votes.csv"
    path.write_text("\n".join(["path,label,smooth,spiral", *rows]) + "\n")
    return path


def test_csv_catalogue_serves_votes_and_names_bad_cells(tmp_path: Path):
    rows = ["g0.png,smooth,30,10", "g1.png,spiral,2,40", "g2.png,spiral,0,0"]
    dataset = ImageFolderCatalogueDataset(
        write_voted_catalogue(tmp_path, rows), size=16, classes=["smooth", "spiral"],
        vote_columns=["smooth", "spiral"],
    )  # fmt: skip
    assert dataset[1][keys.VOTES].tolist() == [2.0, 40.0]
    assert dataset[1][keys.LABEL].item() == 1
    with pytest.raises(DataError, match=r"votes.csv line 3: spiral='-4' is not a vote count"):
        ImageFolderCatalogueDataset(
            write_voted_catalogue(tmp_path, ["g0.png,smooth,30,10", "g1.png,spiral,2,-4"]),
            size=16, classes=["smooth", "spiral"], vote_columns=["smooth", "spiral"],
        )  # fmt: skip
    with pytest.raises(ConfigError, match="1 columns for 2 classes"):
        ImageFolderCatalogueDataset(
            write_voted_catalogue(tmp_path, rows), size=16, classes=["smooth", "spiral"],
            vote_columns=["smooth"],
        )  # fmt: skip


def test_task_adds_the_vote_likelihood_and_names_missing_votes(tiny_backbone_kwargs):
    task = ClassificationTask(Backbone(**tiny_backbone_kwargs), num_classes=2, vote_weight=1.0)
    batch = {
        keys.IMAGE: torch.rand(2, 3, 32, 32),
        keys.LABEL: torch.tensor([0, 1]),
        keys.VOTES: torch.tensor([[30.0, 10.0], [2.0, 40.0]]),
    }
    with torch.no_grad():
        outputs = task.compute(batch)
        cross_entropy = torch.nn.functional.cross_entropy(outputs["logits"], batch[keys.LABEL])
        votes = dirichlet_multinomial_nll(outputs["logits"], batch[keys.VOTES])
    assert outputs["loss"].item() == pytest.approx((cross_entropy + votes).item(), rel=1e-5)
    with pytest.raises(DataError, match="no 'votes'"):
        task.compute({k: v for k, v in batch.items() if k != keys.VOTES})
    with pytest.raises(ConfigError, match="vote_weight=-1"):
        ClassificationTask(Backbone(**tiny_backbone_kwargs), num_classes=2, vote_weight=-1)
