import pytest
import torch

from galvision.backbones import Backbone
from galvision.heads import MAEDecoder, patchify, unpatchify


def test_patchify_orders_patches_row_major_with_pixels_before_bands():
    images = torch.rand(2, 3, 32, 24)
    patches = patchify(images, 8)
    assert patches.shape == (2, 12, 8 * 8 * 3)
    # patch 4 is row 1, column 1 of a 4×3 grid
    block = images[:, :, 8:16, 8:16].permute(0, 2, 3, 1).reshape(2, -1)
    assert torch.equal(patches[:, 4], block)


def test_unpatchify_inverts_patchify():
    images = torch.rand(2, 3, 32, 32)
    assert torch.equal(unpatchify(patchify(images, 8), 8), images)


def test_unpatchify_refuses_patches_that_tile_no_square():
    with pytest.raises(ValueError, match="12 patches"):
        unpatchify(torch.zeros(1, 12, 192), 8)


def make_decoder() -> MAEDecoder:
    backbone = Backbone(img_size=32, patch_size=8, model_kwargs={"depth": 1, "embed_dim": 48})
    return MAEDecoder(backbone, depth=1, width=32)


def test_decoder_predicts_every_patch_from_the_visible_tokens():
    decoder = make_decoder()
    out = decoder(torch.randn(2, 1 + 5, 48), torch.tensor([[0, 3, 5, 9, 15], [1, 2, 4, 8, 12]]))
    assert out.shape == (2, 16, 8 * 8 * 3)


def test_decoder_places_each_token_at_its_own_patch():
    decoder = make_decoder().eval()
    tokens, visible = torch.randn(1, 1 + 3, 48), torch.tensor([[2, 7, 11]])
    order = torch.tensor([2, 0, 1])
    shuffled = torch.cat([tokens[:, :1], tokens[:, 1:][:, order]], dim=1)
    expected = decoder(tokens, visible)
    assert torch.allclose(decoder(shuffled, visible[:, order]), expected, atol=1e-6)
    assert not torch.allclose(decoder(shuffled, visible), expected, atol=1e-3)
