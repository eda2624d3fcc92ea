import pytest
import torch

from galvision.backbones import Backbone, ConvBackbone
from galvision.errors import ConfigError, DataError
from galvision.tasks import ClassificationTask, DeconvolutionTask, ReconstructionTask


@pytest.mark.parametrize("bands", [1, 3])
def test_backbone_outputs_have_the_documented_shapes(bands, tiny_backbone_kwargs):
    backbone = Backbone(in_chans=bands, **tiny_backbone_kwargs)
    x = torch.randn(2, bands, 32, 32)
    assert backbone.embed_dim == 48 and backbone.grid_size == 4
    assert backbone.forward_tokens(x).shape == (2, 1 + 16, 48)
    assert backbone.forward_pooled(x).shape == (2, 48)
    maps = backbone.forward_maps(x, [0, 1])
    assert [m.shape for m in maps] == [(2, 48, 4, 4)] * 2
    assert not torch.allclose(maps[0], maps[1])


def test_image_size_must_be_divisible_by_patch_size():
    with pytest.raises(ConfigError, match="img_size=60 is not divisible by patch_size=8"):
        Backbone(img_size=60, patch_size=8)


def test_wrong_band_count_names_both_counts(tiny_backbone_kwargs):
    backbone = Backbone(in_chans=3, **tiny_backbone_kwargs)
    with pytest.raises(DataError, match=r"1 band.*in_chans=3"):
        backbone.forward_pooled(torch.randn(2, 1, 32, 32))


def test_wrong_image_size_is_reported(tiny_backbone_kwargs):
    backbone = Backbone(**tiny_backbone_kwargs)
    with pytest.raises(DataError, match=r"64×64.*img_size=32"):
        backbone.forward_pooled(torch.randn(1, 3, 64, 64))


def test_unknown_timm_model_is_a_config_error():
    with pytest.raises(ConfigError, match="not_a_model"):
        Backbone(name="not_a_model")


def test_average_pooling_is_the_mean_patch_token(tiny_backbone_kwargs):
    backbone = Backbone(pool="avg", **tiny_backbone_kwargs)
    image = torch.rand(2, 3, 32, 32)
    tokens = backbone.forward_tokens(image)
    prefix = backbone.num_prefix_tokens
    torch.testing.assert_close(backbone.forward_pooled(image), tokens[:, prefix:].mean(1))
    class_token = Backbone(pool="token", **tiny_backbone_kwargs)
    class_token.load_state_dict(backbone.state_dict())  # same weights, same keys
    torch.testing.assert_close(class_token.forward_pooled(image), tokens[:, 0])


def test_a_timm_model_that_is_no_plain_vit_names_what_it_lacks():
    with pytest.raises(
        ConfigError, match=r"'swin_tiny_patch4_window7_224' is not a plain .* blocks"
    ):
        Backbone("swin_tiny_patch4_window7_224", img_size=64, patch_size=8)


def test_tasks_name_what_a_backbone_lacks_for_them():
    with pytest.raises(
        ConfigError, match=r"ConvBackbone lacks patch_size.* DeconvolutionTask needs"
    ):
        DeconvolutionTask(ConvBackbone())
    assert ClassificationTask(ConvBackbone(img_size=32), num_classes=3).backbone.embed_dim == 512


def test_a_patch_16_backbone_restores_and_inpaints():
    tiny = {"depth": 4, "embed_dim": 32, "num_heads": 2}
    backbone = {"img_size": 64, "patch_size": 16, "model_kwargs": tiny}
    image = torch.rand(2, 3, 64, 64)
    deconvolution = DeconvolutionTask(Backbone(**backbone)).eval()
    assert deconvolution(image, torch.full((2,), 1.2)).shape == image.shape
    mask = torch.zeros(2, 1, 64, 64)
    mask[:, :, :16] = 1
    inpainting = ReconstructionTask(Backbone(**backbone)).eval()
    restored = inpainting(image, mask)
    assert torch.equal(restored[:, :, 16:], image[:, :, 16:])


HYBRID = {
    "name": "vit_tiny_r_s16_p8_224",
    "img_size": 32,
    "patch_size": 8,
    "model_kwargs": {"depth": 2, "embed_dim": 48, "num_heads": 2},
}


def test_a_hybrid_vit_tokens_cover_patch_size_pixels_through_its_stem():
    backbone = Backbone(**HYBRID)
    x = torch.randn(2, 3, 32, 32)
    assert backbone.grid_size == 4 and backbone.model.patch_embed.patch_size == (2, 2)
    assert backbone.forward_tokens(x).shape == (2, 1 + 16, 48)
    assert [m.shape for m in backbone.forward_maps(x, [0, 1])] == [(2, 48, 4, 4)] * 2


def test_a_hybrid_patch_size_must_be_a_multiple_of_its_stem_stride():
    with pytest.raises(ConfigError, match="patch_size=6 is not a multiple of the 4-pixel stride"):
        Backbone(**{**HYBRID, "img_size": 36, "patch_size": 6})


@pytest.mark.parametrize("name", ["vit_tiny_patch16_224", "vit_tiny_r_s16_p8_224"])
def test_visible_tokens_never_see_the_hidden_patches(name):
    backbone = Backbone(**{**HYBRID, "name": name}).eval()
    x = torch.randn(1, 3, 32, 32)
    visible = torch.tensor([[0, 5, 10, 15]])
    changed = x.clone()
    changed[..., 0:8, 8:16] = 100.0  # patch 1, hidden; the convolutional stem overlaps it
    assert torch.allclose(
        backbone.forward_visible(x, visible), backbone.forward_visible(changed, visible)
    )
