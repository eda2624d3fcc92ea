import pytest
import torch

from galvision.data import keys
from galvision.data.degrade import Observation, convolve


def gaussian_psf(size: int, sigma: float, bands: int = 3) -> torch.Tensor:
    r = torch.arange(size) - size // 2
    kernel = torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    return (kernel / kernel.sum()).expand(bands, size, size)


def batch(clean: torch.Tensor, psf: torch.Tensor) -> dict:
    n = len(clean)
    return {
        keys.CLEAN: clean,
        keys.PSF: psf.expand(n, -1, -1, -1),
        keys.TARGET_PSF: gaussian_psf(3, 0.3, bands=clean.shape[1])[None],
        keys.INDEX: torch.arange(n),
    }


def test_unit_sum_psf_conserves_flux_and_spreads_light():
    clean = torch.zeros(2, 3, 48, 48)
    clean[:, :, 24, 24] = 10.0
    blurred = convolve(clean, gaussian_psf(21, 2.0)[None])
    assert torch.allclose(blurred.sum(dim=(-2, -1)), torch.full((2, 3), 10.0), rtol=1e-4)
    assert blurred.amax() < 10.0 / (2 * torch.pi * 2.0**2) * 1.05
    assert blurred[0, 0, 24, 24] == blurred.amax()


def test_convolution_is_not_correlation():
    kernel = torch.zeros(1, 1, 3, 3)
    kernel[0, 0, 1, 2] = 1.0  # shifts light one pixel to the right under convolution
    image = torch.zeros(1, 1, 5, 5)
    image[0, 0, 2, 2] = 1.0
    assert convolve(image, kernel)[0, 0, 2, 3] == 1.0


def test_background_noise_matches_the_sky_sigma():
    observation = Observation(
        sky_sigma=(0.01, 0.02), gain=(1e9, 1e9), read_sigma=0.0, noise_scale=(1.0, 1.0)
    )
    out = observation(batch(torch.zeros(8, 2, 64, 64), gaussian_psf(5, 1.0, bands=2)[None]))
    noise = out[keys.OBSERVED]
    assert noise[:, 0].std().item() == pytest.approx(0.01, rel=0.03)
    assert noise[:, 1].std().item() == pytest.approx(0.02, rel=0.03)
    assert abs(noise.mean().item()) < 1e-3


def test_poisson_noise_grows_with_the_source():
    observation = Observation(
        sky_sigma=(1e-6,), gain=(100.0,), read_sigma=0.0, noise_scale=(1.0, 1.0)
    )
    flat = torch.full((4, 1, 64, 64), 4.0)
    out = observation(batch(flat, torch.ones(1, 1, 1, 1)))
    # variance = flux / gain = 0.04 -> sigma 0.2
    assert (out[keys.OBSERVED] - 4.0).std().item() == pytest.approx(0.2, rel=0.03)


def test_evaluation_noise_is_seeded_by_index_and_training_noise_is_fresh():
    observation = Observation()
    data = batch(torch.zeros(4, 3, 32, 32), gaussian_psf(5, 1.0)[None])
    first = observation(data, deterministic=True)[keys.OBSERVED]
    again = observation(data, deterministic=True)[keys.OBSERVED]
    shuffled = {k: v.flip(0) for k, v in data.items()}
    reordered = observation(shuffled, deterministic=True)[keys.OBSERVED]
    assert torch.equal(first, again)
    assert torch.equal(first, reordered.flip(0))
    assert not torch.equal(observation(data)[keys.OBSERVED], observation(data)[keys.OBSERVED])


def test_noise_scale_range_changes_the_noise_level():
    quiet = Observation(noise_scale=(0.5, 0.5))
    loud = Observation(noise_scale=(2.0, 2.0))
    data = batch(torch.zeros(4, 3, 32, 32), gaussian_psf(5, 1.0)[None])
    ratio = loud(data)[keys.OBSERVED].std() / quiet(data)[keys.OBSERVED].std()
    assert ratio.item() == pytest.approx(4.0, rel=0.05)


def test_band_count_mismatch_is_reported():
    with pytest.raises(ValueError, match="data has 1 bands, sky_sigma describes 3"):
        Observation()(batch(torch.zeros(1, 1, 8, 8), torch.ones(1, 1, 1, 1)))
