"""``api.embed`` pools one vector per image; averaged over the dihedral group, turns drop out."""

import numpy as np
import torch

from galvision import api
from galvision.backbones import Backbone
from galvision.transforms.dihedral import dihedral


def test_invariant_embeddings_do_not_see_turns_or_flips(tiny_backbone_kwargs):
    backbone = Backbone(**tiny_backbone_kwargs).eval()
    images = torch.rand(4, 3, 32, 32)
    turned = dihedral(images, 5)  # a quarter turn and a mirror flip
    plain = api.embed(backbone, images), api.embed(backbone, turned)
    assert np.abs(plain[0] - plain[1]).max() > 1e-3  # the backbone itself sees orientation
    invariant = (
        api.embed(backbone, images, invariant=True),
        api.embed(backbone, turned, invariant=True),
    )
    np.testing.assert_allclose(invariant[0], invariant[1], atol=1e-5)
    assert invariant[0].shape == plain[0].shape
