import pytest
import torch

from galvision.heads import PixelDecoder


@pytest.mark.parametrize(("patch", "channels"), [(8, (32, 16, 8)), (16, (32, 16, 8, 8))])
def test_decoder_returns_an_image_of_the_input_size(patch, channels):
    decoder = PixelDecoder(
        3,
        3,
        embed_dim=24,
        patch_size=patch,
        num_maps=2,
        extra_channels=1,
        stem_width=8,
        decoder_channels=channels,
    )
    image = torch.randn(2, 3, 64, 64)
    maps = [torch.randn(2, 24, 64 // patch, 64 // patch) for _ in range(2)]
    out = decoder(maps, image, torch.randn(2, 1, 64, 64))
    assert out.shape == image.shape


def test_decoder_output_depends_on_the_condition():
    decoder = PixelDecoder(
        1,
        1,
        embed_dim=8,
        patch_size=4,
        num_maps=1,
        extra_channels=1,
        stem_width=4,
        decoder_channels=(8, 8),
    ).eval()
    image, maps = torch.randn(1, 1, 16, 16), [torch.randn(1, 8, 4, 4)]
    sharp = decoder(maps, image, torch.full((1, 1, 16, 16), -1.0))
    blurry = decoder(maps, image, torch.full((1, 1, 16, 16), 1.0))
    assert not torch.allclose(sharp, blurry)


def test_patch_size_must_be_a_power_of_two():
    with pytest.raises(ValueError, match="patch_size=6"):
        PixelDecoder(3, 3, embed_dim=8, patch_size=6)
