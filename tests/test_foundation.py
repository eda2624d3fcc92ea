"""MAE pretraining through the CLI and its weights in the deconvolution task."""

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from galvision.backbones import Backbone
from galvision.cli import main
from galvision.errors import CheckpointError
from helpers.training import config_args


@pytest.fixture
def pretrained(tiny_mae: Path) -> Path:
    """The tiny MAE checkpoint."""
    return tiny_mae


def backbone_state(ckpt: Path) -> dict[str, torch.Tensor]:
    state = torch.load(ckpt, map_location="cpu", weights_only=False)["state_dict"]
    return {
        k.removeprefix("network.backbone.model."): v
        for k, v in state.items()
        if k.startswith("network.backbone.")
    }


def test_pretraining_logs_masked_patch_metrics(pretrained):
    with (pretrained.parents[1] / "logs" / "version_0" / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len([r for r in rows if r.get("train/loss_step")]) == 4
    psnr = [float(r["val/masked_psnr"]) for r in rows if r.get("val/masked_psnr")]
    assert len(psnr) == 2 and all(np.isfinite(psnr))


def test_deconvolution_backbone_starts_from_the_pretrained_weights(
    pretrained, tiny_backbone_kwargs
):
    expected = backbone_state(pretrained)
    loaded = Backbone(weights=str(pretrained), **tiny_backbone_kwargs).model.state_dict()
    assert expected.keys() == loaded.keys()
    for key, tensor in expected.items():
        assert torch.equal(loaded[key], tensor), key


def test_band_count_mismatch_is_one_line(pretrained, tiny_backbone_kwargs):
    with pytest.raises(CheckpointError, match="band count") as error:
        Backbone(in_chans=1, weights=str(pretrained), **tiny_backbone_kwargs)
    assert "\n" not in str(error.value)


def test_fit_with_pretrained_frozen_backbone_keeps_it(pretrained, tmp_path):
    main(
        [
            "fit",
            *config_args("deconv"),
            "--trainer.default_root_dir",
            str(tmp_path),
            "--trainer.max_steps",
            "2",
            "--model.init_args.backbone.init_args.weights",
            str(pretrained),
            "--model.init_args.freeze_backbone",
            "true",
        ]
    )
    tuned = backbone_state(tmp_path / "checkpoints" / "last.ckpt")
    for key, tensor in backbone_state(pretrained).items():
        assert torch.equal(tuned[key], tensor), key
