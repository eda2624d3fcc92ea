"""ClassifierHead: feature normalisation choices."""

import pytest
import torch

from galvision.errors import ConfigError
from galvision.heads import ClassifierHead


class Features:
    """The one thing a classifier head reads from its backbone."""

    embed_dim = 8


def test_batch_norm_brings_out_features_that_differ_little_between_images():
    features = 10.0 + 0.1 * torch.randn(64, 8)  # a large shared part, small differences
    head = ClassifierHead(Features(), 3, norm="batch").train()
    normalised = head.norm(features)
    torch.testing.assert_close(normalised.mean(0), torch.zeros(8), atol=1e-3, rtol=0)
    torch.testing.assert_close(normalised.std(0), torch.ones(8), atol=2e-2, rtol=0)
    assert head(features)["logits"].shape == (64, 3)


def test_unknown_norm_is_one_line():
    with pytest.raises(ConfigError, match="norm='group'"):
        ClassifierHead(Features(), 3, norm="group")
