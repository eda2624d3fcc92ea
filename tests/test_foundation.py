"""MAE pretraining through the CLI, its weights in the deconvolution task, and the benchmark."""

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from galvision.backbones import Backbone
from galvision.cli import main
from galvision.errors import CheckpointError
from helpers.training import config_args, task_config


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


def test_foundation_benchmark_compares_three_fine_tunings(pretrained, tmp_path, capsys):
    main(
        [
            "benchmark",
            "foundation",
            "--pretrained",
            str(pretrained),
            "--config",
            *map(str, task_config("deconv")),
            "--steps",
            "2",
            "--output",
            str(tmp_path),
        ]
    )
    with (tmp_path / "foundation_deconv.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert [(r["backbone"], r["training"]) for r in table] == [
        ("random init", "fine-tuned"),
        ("MAE-pretrained", "fine-tuned"),
        ("MAE-pretrained", "frozen, decoder trained"),
    ]
    psnr = [float(r["psnr"]) for r in table]
    assert all(np.isfinite(psnr)) and len(set(psnr)) == 3
    assert all(0 < float(r["ssim"]) <= 1 for r in table)
    frozen = backbone_state(tmp_path / "foundation" / "frozen" / "checkpoints" / "last.ckpt")
    random = backbone_state(tmp_path / "foundation" / "random" / "checkpoints" / "last.ckpt")
    for key, tensor in backbone_state(pretrained).items():
        assert torch.equal(frozen[key], tensor), key
    assert not torch.equal(random["patch_embed.proj.weight"], frozen["patch_embed.proj.weight"])
    out = capsys.readouterr().out
    assert "Foundation: deconvolution after 2 fine-tuning steps" in out and "| PSNR ↑ |" in out


def test_foundation_benchmark_refuses_a_missing_checkpoint(tmp_path):
    with pytest.raises(SystemExit, match="no such checkpoint file"):
        main(["benchmark", "foundation", "--pretrained", str(tmp_path / "none.ckpt")])
