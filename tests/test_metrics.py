"""Colour error: zero for brightness-only errors, the tint's size for tinted grey sources."""

import torch

from galvision.metrics import ColourError


def test_colour_error_ignores_brightness_and_counts_tint() -> None:
    grey = torch.rand(2, 1, 8, 8).expand(-1, 3, -1, -1)
    brighter = ColourError()
    brighter.update(grey * 1.5 + 0.1, grey)
    assert float(brighter.compute()) < 1e-6
    tint = torch.tensor([0.03, 0.0, -0.03])[None, :, None, None]
    tinted = ColourError()
    tinted.update(grey + tint, grey)
    assert abs(float(tinted.compute()) - 0.02) < 1e-6  # mean of |0.03|, 0, |-0.03|
