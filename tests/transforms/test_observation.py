import pytest
import torch

from galvision.data import keys
from galvision.data.noise import band_noise
from galvision.errors import ConfigError
from galvision.transforms import Observe, convolve


def gaussian_psf(size: int, sigma: float, bands: int = 3) -> torch.Tensor:
    r = torch.arange(size) - size // 2
    kernel = torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    return (kernel / kernel.sum()).expand(bands, size, size)


def batch(
    clean: torch.Tensor,
    psf: torch.Tensor,
    sky: tuple[float, ...] | None = None,
    gain: tuple[float, ...] | None = None,
) -> dict:
    n, c = clean.shape[:2]
    default_sky, default_gain = band_noise(["g", "r", "z"][:c])
    return {
        keys.CLEAN: clean,
        keys.PSF: psf.expand(n, -1, -1, -1),
        keys.TARGET_PSF: gaussian_psf(3, 0.3, bands=c)[None].expand(n, -1, -1, -1),
        keys.SKY_SIGMA: (torch.tensor(sky) if sky else default_sky).expand(n, -1),
        keys.GAIN: (torch.tensor(gain) if gain else default_gain).expand(n, -1),
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


def test_background_noise_matches_the_sky_sigma_of_each_band():
    observe = Observe(read_sigma=0.0, noise_scale=(1.0, 1.0))
    data = batch(torch.zeros(8, 2, 64, 64), gaussian_psf(5, 1.0, 2)[None], (0.01, 0.02), (1e9, 1e9))
    noise = observe(data, "train")[keys.OBSERVED]
    assert noise[:, 0].std().item() == pytest.approx(0.01, rel=0.03)
    assert noise[:, 1].std().item() == pytest.approx(0.02, rel=0.03)
    assert abs(noise.mean().item()) < 1e-3


def test_noise_follows_the_band_names_of_the_survey():
    sky_riz, _ = band_noise(["r", "i", "z"])
    sky_grz, _ = band_noise(["g", "r", "z"])
    assert sky_riz[0] == sky_grz[1] and sky_riz[2] == sky_grz[2]
    assert sky_grz[1] < sky_riz[1] < sky_grz[2]  # i lies between r and z in depth
    with pytest.raises(ConfigError, match=r"data\.survey\.bands: no noise model for band 'u'"):
        band_noise(["u", "g"], "data.survey.bands")


def test_poisson_noise_grows_with_the_source():
    observe = Observe(read_sigma=0.0, noise_scale=(1.0, 1.0))
    flat = torch.full((4, 1, 64, 64), 4.0)
    out = observe(batch(flat, torch.ones(1, 1, 1, 1), (1e-6,), (100.0,)), "train")
    # variance = flux / gain = 0.04 -> sigma 0.2
    assert (out[keys.OBSERVED] - 4.0).std().item() == pytest.approx(0.2, rel=0.03)


def test_evaluation_noise_is_seeded_by_index_and_training_noise_is_fresh():
    observe = Observe()
    data = batch(torch.zeros(4, 3, 32, 32), gaussian_psf(5, 1.0)[None])
    first = observe(data, "val")[keys.OBSERVED]
    again = observe(data, "test")[keys.OBSERVED]
    shuffled = {k: v.flip(0) for k, v in data.items()}
    reordered = observe(shuffled, "val")[keys.OBSERVED]
    assert torch.equal(first, again)
    assert torch.equal(first, reordered.flip(0))
    assert not torch.equal(observe(data, "train")[keys.OBSERVED], first)
    assert not torch.equal(
        observe(data, "train")[keys.OBSERVED], observe(data, "train")[keys.OBSERVED]
    )


def test_noise_scale_range_changes_the_noise_level():
    data = batch(torch.zeros(4, 3, 32, 32), gaussian_psf(5, 1.0)[None])
    quiet = Observe(noise_scale=(0.5, 0.5))(data, "val")[keys.OBSERVED]
    loud = Observe(noise_scale=(2.0, 2.0))(data, "val")[keys.OBSERVED]
    assert (loud.std() / quiet.std()).item() == pytest.approx(4.0, rel=0.05)


def test_display_space_input_and_clipped_target():
    clean = torch.zeros(2, 3, 32, 32)
    clean[:, :, 16, 16] = 1e4  # far above the display saturation
    out = Observe()(batch(clean, gaussian_psf(5, 1.0)[None]), "val")
    assert out[keys.TARGET].max() == 1.0 and out[keys.IMAGE].max() > 1.0
    assert out[keys.TARGET].shape == out[keys.IMAGE].shape == clean.shape


def test_real_observations_pass_unchanged():
    image = torch.rand(2, 3, 8, 8)
    assert Observe()({keys.IMAGE: image}, "train")[keys.IMAGE] is image


def test_missing_noise_and_bad_settings_are_one_line_errors():
    data = batch(torch.zeros(1, 3, 8, 8), torch.ones(1, 3, 1, 1))
    del data[keys.GAIN]
    with pytest.raises(ValueError, match="Observe: the batch has no 'gain'"):
        Observe()(data, "train")
    with pytest.raises(ConfigError, match="noise_scale"):
        Observe(noise_scale=(2.0, 1.0))
