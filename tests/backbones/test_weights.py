import pytest
import torch

from galvision.backbones import Backbone, load_backbone
from galvision.errors import CheckpointError


def test_weights_round_trip_through_a_lightning_style_checkpoint(tmp_path, tiny_backbone_kwargs):
    source = Backbone(**tiny_backbone_kwargs)
    state = {f"backbone.model.{k}": v for k, v in source.model.state_dict().items()}
    state["decoder.weight"] = torch.zeros(1)
    path = tmp_path / "model.ckpt"
    torch.save({"state_dict": state}, path)

    target = Backbone(weights=str(path), **tiny_backbone_kwargs)
    for key, tensor in source.model.state_dict().items():
        assert torch.equal(tensor, target.model.state_dict()[key]), key


def test_band_count_mismatch_fails_loudly(tmp_path, tiny_backbone_kwargs):
    path = tmp_path / "one_band.pt"
    torch.save(Backbone(in_chans=1, **tiny_backbone_kwargs).model.state_dict(), path)
    with pytest.raises(CheckpointError, match=r"patch_embed\..*weight.*band count"):
        load_backbone(Backbone(in_chans=3, **tiny_backbone_kwargs), str(path))


def test_position_embedding_is_resampled_for_a_new_image_size(tmp_path, tiny_backbone_kwargs):
    path = tmp_path / "small.pt"
    torch.save(Backbone(**tiny_backbone_kwargs).model.state_dict(), path)
    larger = dict(tiny_backbone_kwargs, img_size=64)
    backbone = Backbone(**larger)
    loaded = load_backbone(backbone, str(path))
    assert "pos_embed" in loaded
    assert backbone.model.pos_embed.shape == (1, 1 + 64, 48)


def test_missing_checkpoint_names_the_path(tmp_path):
    with pytest.raises(CheckpointError, match=r"no such file .*absent.ckpt"):
        Backbone(weights=str(tmp_path / "absent.ckpt"))


def test_corrupt_checkpoint_names_the_path(tmp_path, tiny_backbone_kwargs):
    path = tmp_path / "broken.ckpt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"cannot read .*broken.ckpt"):
        Backbone(weights=str(path), **tiny_backbone_kwargs)
