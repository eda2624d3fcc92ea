"""The consistency guard keeps restorations that explain the data and replaces those that do not."""

import torch

from galvision.consistency import guard, reduced_chi2
from galvision.transforms.observation import convolve


def blurred_scene() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    axis = torch.arange(-3.0, 4.0)
    psf = torch.exp(-(axis[:, None] ** 2 + axis[None] ** 2) / 4.0)
    psf = (psf / psf.sum()).expand(2, 3, -1, -1)
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    galaxy = 5.0 * torch.exp(-((yy - 16) ** 2 + (xx - 16) ** 2) / 8.0)
    truth = galaxy.expand(2, 3, -1, -1).clone()
    sky, gain = torch.full((2, 3), 0.05), torch.full((2, 3), 1e6)
    observed = convolve(truth, psf) + sky[..., None, None] * torch.randn_like(truth)
    return {"truth": truth, "observed": observed, "psf": psf, "sky": sky, "gain": gain}


def test_chi2_is_one_for_the_truth_and_large_for_invented_structure() -> None:
    scene = blurred_scene()
    args = (scene["observed"], scene["psf"], scene["sky"], scene["gain"])
    truth_chi2 = reduced_chi2(scene["truth"], *args)
    assert torch.allclose(truth_chi2, torch.ones(2), atol=0.1)
    invented = scene["truth"].clone()
    invented[:, :, 4:8, 4:8] += 3.0
    assert (reduced_chi2(invented, *args) > 10 * truth_chi2).all()


def test_guard_replaces_only_the_restoration_that_fails() -> None:
    scene = blurred_scene()
    restored = scene["truth"].clone()
    restored[1] = restored[1].flip(-1).roll(6, -1)  # image 1 invents a shifted galaxy
    fallback = scene["observed"]  # a poor but honest restoration
    kept, replaced = guard(
        restored, fallback, scene["observed"], scene["psf"], scene["sky"], scene["gain"]
    )
    assert replaced.tolist() == [False, True]
    torch.testing.assert_close(kept[0], restored[0])
    torch.testing.assert_close(kept[1], fallback[1])
