import pytest
import torch

from galvision.backbones import Backbone, ConvBackbone
from galvision.errors import ConfigError
from galvision.heads import PixelDecoder

TINY = {"depth": 2, "embed_dim": 24, "num_heads": 2}


@pytest.mark.parametrize("patch", [8, 16])
def test_decoder_channels_follow_the_backbone_patch_size(patch):
    backbone = Backbone(img_size=64, patch_size=patch, model_kwargs=TINY)
    decoder = PixelDecoder(backbone, extra_channels=1, num_maps=2, stem_width=8)
    assert len(decoder.stem) == {8: 3, 16: 4}[patch]
    image = torch.randn(2, 3, 64, 64)
    maps = backbone.forward_maps(image, decoder.map_indices)
    assert decoder(maps, image, torch.randn(2, 1, 64, 64)).shape == image.shape


def test_decoder_output_depends_on_the_condition(tiny_backbone_kwargs):
    backbone = Backbone(**tiny_backbone_kwargs)
    decoder = PixelDecoder(backbone, extra_channels=1, num_maps=1, stem_width=4).eval()
    image = torch.randn(1, 3, 32, 32)
    maps = backbone.forward_maps(image, decoder.map_indices)
    sharp = decoder(maps, image, torch.full((1, 1, 32, 32), -1.0))
    blurry = decoder(maps, image, torch.full((1, 1, 32, 32), 1.0))
    assert not torch.allclose(sharp, blurry)


def test_backbones_that_cannot_feed_it_are_one_line_errors():
    with pytest.raises(ConfigError, match="patch_size=6 is not a power of two"):
        PixelDecoder(
            Backbone(name="vit_tiny_patch16_224", img_size=36, patch_size=6, model_kwargs=TINY)
        )
    with pytest.raises(ConfigError, match="ConvBackbone lacks patch_size, depth"):
        PixelDecoder(ConvBackbone())
