"""Backbones leave galvision as timm folders and come back by path or by foundation name."""

from pathlib import Path

import numpy as np
import pytest
import timm
import torch

from galvision import api
from galvision.backbones import Backbone
from galvision.backbones.export import backbone_from_folder, export_backbone, foundations_dir
from galvision.cli import main
from helpers.training import config_args

TINY = {"img_size": 32, "patch_size": 8, "model_kwargs": {"depth": 2, "embed_dim": 48}}


def test_an_exported_backbone_loads_in_plain_timm(tiny_mae, tmp_path):
    main(["export", "--ckpt", str(tiny_mae), "--output", str(tmp_path / "mae")])
    plain = timm.create_model(f"local-dir:{tmp_path / 'mae'}", pretrained=True).eval()
    ours = api.load_backbone(tiny_mae)
    images = torch.rand(3, 3, 32, 32)
    torch.testing.assert_close(plain(images), ours.forward_pooled(images))
    again = api.load_backbone(tmp_path / "mae")
    np.testing.assert_allclose(api.embed(again, images), api.embed(ours, images), atol=1e-6)


def test_a_missing_foundation_names_the_command_that_makes_it(fresh_cache, tmp_path):
    weights = ["--model.init_args.backbone.init_args.weights", "foundation"]
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *config_args("deconv"), *weights, "--trainer.default_root_dir", str(tmp_path)])
    message = str(exit_info.value.code)
    assert message.startswith("galvision: error: backbone weights 'foundation': ")
    assert message.endswith("`galvision fit --config tasks/foundation.yaml` makes it")
    assert "\n" not in message


def test_the_foundation_task_publishes_what_every_task_starts_from(tmp_path: Path):
    main(["fit", *config_args("foundation"), "--trainer.default_root_dir", str(tmp_path / "f")])
    published = api.load_backbone("foundation")
    trained = api.load_backbone(tmp_path / "f" / "checkpoints" / "last.ckpt")
    images = torch.rand(2, 3, 32, 32)
    np.testing.assert_allclose(api.embed(published, images), api.embed(trained, images), atol=1e-6)
    assert (foundations_dir() / "foundation" / "model.safetensors").is_file()
    started = Backbone(**TINY, pool=None, weights="foundation")
    torch.testing.assert_close(started.model.pos_embed, published.model.pos_embed)


def test_predict_through_the_api_matches_the_network(tiny_run):
    task = api.load_task(tiny_run / "checkpoints" / "last.ckpt")
    images = torch.rand(5, 3, 32, 32)
    restored = api.predict(task, images, psf_fwhm=1.2, batch_size=2)["restored"]
    expected = task.network(images, torch.full((5,), 1.2)).clamp(0, 1).detach().numpy()
    np.testing.assert_allclose(restored, expected, atol=1e-5)


def test_a_hybrid_backbone_round_trips_through_plain_timm(tmp_path):
    ours = Backbone(name="vit_tiny_r_s16_p8_224", **TINY, pool="avg").eval()
    export_backbone(ours, tmp_path / "hybrid")
    plain = timm.create_model(f"local-dir:{tmp_path / 'hybrid'}", pretrained=True).eval()
    images = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(plain(images), ours.forward_pooled(images))
    again = backbone_from_folder(tmp_path / "hybrid")
    assert again.patch_size == 8 and again.grid_size == 4
    torch.testing.assert_close(again.forward_pooled(images), ours.forward_pooled(images))
