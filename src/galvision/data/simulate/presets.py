"""Survey presets: how a survey images galaxies (pixels, bands, PSF, noise) and displays them.

A preset is a YAML file (``configs/survey/*.yaml``) read into :class:`SurveyPreset`. The simulator
takes the pixel scale, bands, PSF and framing from it; the datamodule serves its noise and
display with every sample, so :class:`~galvision.transforms.Observe` observes and displays each
galaxy as its survey would.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import ClassVar, Literal

import torch
import yaml

from galvision.data.noise import GAIN, SKY_SIGMA
from galvision.data.simulate.hashed import HashedConfig
from galvision.errors import ConfigError

KNOWN_BANDS = ("u", "g", "r", "i", "z", "y")
PSF_PROFILES = ("ground", "space")
DISPLAYS = ("asinh", "lupton")
SIZE_KEYS = ("at_19", "slope", "scatter", "min", "max")
SIGNED_TABLES = ("lupton_minimum",)  # per-band tables whose values may be zero or negative


def sky_sigma_from_depth(depth: float, seeing: float, pixel_scale: float) -> float:
    """Sky noise per pixel in nanomaggies of a survey with a 5-sigma point-source ``depth``.

    A Gaussian PSF of FWHM ``seeing`` arcsec spreads a point source over a noise-equivalent
    area of 4 pi sigma^2 pixels, so the per-pixel noise is the point-source noise over its root.
    """
    point_source_sigma = 10.0 ** ((22.5 - depth) / 2.5) / 5.0
    psf_sigma = seeing / pixel_scale / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    return point_source_sigma / math.sqrt(4.0 * math.pi * psf_sigma**2)


@dataclass(frozen=True, eq=False)
class SurveyPreset(HashedConfig):
    """How one survey images and displays galaxies; every length in arcsec.

    Args:
        name: Short name, shown in tables and galleries.
        pixel_scale: Arcsec per pixel of the survey's images.
        bands: Band names in channel order.
        psf_profile: ``ground`` (Kolmogorov or Moffat seeing) or ``space`` (obscured Airy
            diffraction blurred by pointing jitter).
        psf_fwhm_range: Seeing FWHM in r (ground), or jitter FWHM (space), drawn uniformly.
        telescope_diameter: Metres, the aperture of a ``space`` PSF's Airy pattern.
        sky_sigma: Background noise per pixel in nanomaggies, per band.
        gain: Electrons per nanomaggy of one exposure, per band (the Poisson term).
        display: ``asinh`` (galvision's display space) or ``lupton`` (Lupton et al. 2004 RGB).
        lupton_q: Softening of the Lupton stretch.
        lupton_stretch: Nanomaggies per pixel of the linear part of the Lupton stretch.
        lupton_scales: Multiplier of each band before the Lupton stretch (sets the colours).
        lupton_minimum: Scaled flux of each band shown as black (astropy's ``minimum``);
            negative values keep the sky grey rather than black, None is 0 for every band.
        jpeg_quality: JPEG quality the display images are compressed with, or None.
        frame_r90: Stamp width in units of each galaxy's 90 %-light radius, as Galaxy Zoo
            cut its images out (0.024 R90 per pixel); None keeps the survey's pixel scale.
        frame_psf_pixels: FWHM range in stamp pixels the PSFs of framed galaxies are drawn in.
        galaxy_sizes: The size-magnitude relation of the survey's galaxies, log-normal:
            ``at_19`` (median half-light radius at r = 19), ``slope`` (dex per magnitude),
            ``scatter`` (dex), ``min`` and ``max`` (arcsec); None keeps the morphology
            catalogue's own, bounded to what a 64-pixel DECaLS stamp shows whole.
    """

    name: str = "decals"
    pixel_scale: float = 0.262
    bands: tuple[str, ...] = ("g", "r", "z")
    psf_profile: Literal["ground", "space"] = "ground"
    psf_fwhm_range: tuple[float, float] = (0.9, 1.6)
    telescope_diameter: float = 2.4
    sky_sigma: dict[str, float] = field(default_factory=lambda: dict(SKY_SIGMA))
    gain: dict[str, float] = field(default_factory=lambda: dict(GAIN))
    display: Literal["asinh", "lupton"] = "asinh"
    lupton_q: float = 8.0
    lupton_stretch: float = 1.0
    lupton_scales: dict[str, float] | None = None
    lupton_minimum: dict[str, float] | None = None
    jpeg_quality: int | None = None
    frame_r90: float | None = None
    frame_psf_pixels: tuple[float, float] = (1.5, 12.0)
    galaxy_sizes: dict[str, float] | None = None
    later_fields: ClassVar[tuple[str, ...]] = ("galaxy_sizes", "lupton_minimum")

    def __post_init__(self) -> None:
        # YAML gives lists and ints; tuples and floats keep equal presets equal.
        object.__setattr__(self, "bands", tuple(self.bands))
        for name in ("psf_fwhm_range", "frame_psf_pixels"):
            object.__setattr__(self, name, tuple(float(x) for x in getattr(self, name)))
        for name in ("sky_sigma", "gain", "lupton_scales", "lupton_minimum", "galaxy_sizes"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, {str(k): float(v) for k, v in value.items()})
        self.validate()

    def validate(self) -> None:
        """Raise a one-line ConfigError naming the first key with an impossible value."""
        where = f"survey preset {self.name!r}"
        positive = ("pixel_scale", "telescope_diameter", "lupton_q", "lupton_stretch")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ConfigError(f"{where}: {name}={getattr(self, name)!r} must be positive")
        unknown = [band for band in self.bands if band not in KNOWN_BANDS]
        if unknown or not self.bands:
            raise ConfigError(
                f"{where}: bands={list(self.bands)} has unknown band(s) {unknown}; "
                f"allowed: {list(KNOWN_BANDS)}"
            )
        for name in ("psf_fwhm_range", "frame_psf_pixels"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ConfigError(
                    f"{where}: {name}={[low, high]} must be (low, high) with 0 < low <= high"
                )
        choices = {"psf_profile": PSF_PROFILES, "display": DISPLAYS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"{where}: {name}={getattr(self, name)!r} is unknown; allowed: {list(allowed)}"
                )
        self._validate_bands()
        if self.jpeg_quality is not None and not 1 <= self.jpeg_quality <= 100:
            raise ConfigError(f"{where}: jpeg_quality={self.jpeg_quality} must be in 1..100")
        if self.frame_r90 is not None and not self.frame_r90 > 0:
            raise ConfigError(f"{where}: frame_r90={self.frame_r90!r} must be positive")
        if self.galaxy_sizes is not None:
            self._validate_sizes(where)

    def _validate_sizes(self, where: str) -> None:
        """The size relation names its five numbers, with 0 < min < max and scatter >= 0."""
        sizes = self.galaxy_sizes or {}
        if set(sizes) != set(SIZE_KEYS):
            raise ConfigError(f"{where}: galaxy_sizes={sizes} must give exactly {list(SIZE_KEYS)}")
        if not (0 < sizes["min"] < sizes["max"] and sizes["at_19"] > 0 and sizes["scatter"] >= 0):
            raise ConfigError(
                f"{where}: galaxy_sizes={sizes} needs 0 < min < max, at_19 > 0 and scatter >= 0"
            )

    def _band_tables(self) -> dict[str, dict[str, float]]:
        """The per-band tables every band of a survey needs: noise, and the Lupton display's."""
        tables = {"sky_sigma": self.sky_sigma, "gain": self.gain}
        if self.display == "lupton":
            tables["lupton_scales"] = self.lupton_scales or {}
            if self.lupton_minimum is not None:
                tables["lupton_minimum"] = self.lupton_minimum
        return tables

    def _validate_bands(self) -> None:
        """Every band needs its noise and Lupton scale, positive, and its minimum, finite."""
        for name, table in self._band_tables().items():
            signed = name in SIGNED_TABLES
            for band in self.bands:
                value = table.get(band)
                if value is None or not (math.isfinite(value) if signed else value > 0):
                    raise ConfigError(
                        f"survey preset {self.name!r}: {name}[{band!r}]={value!r} must be given "
                        f"and {'finite' if signed else 'positive'} for every band"
                    )

    def check_bands(self, bands: tuple[str, ...], key: str) -> None:
        """Refuse rendering ``bands`` the preset has no noise (or colour scale) for."""
        for name, table in self._band_tables().items():
            missing = [band for band in bands if band not in table]
            if missing:
                raise ConfigError(
                    f"{key}={list(bands)}: survey preset {self.name!r} has no {name} for "
                    f"band(s) {missing}"
                )
        if self.jpeg_quality is not None and len(bands) != 3:
            raise ConfigError(
                f"{key}={list(bands)}: survey preset {self.name!r} compresses to JPEG, "
                "which takes 3 bands"
            )

    def to_dict(self) -> dict:
        """The fields as plain YAML/JSON values."""
        return json.loads(self.to_json())


DECALS = SurveyPreset()


def preset_noise(preset: SurveyPreset, bands: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Sky sigma and gain (C,) of ``bands`` in the preset's survey."""
    preset.check_bands(tuple(bands), "bands")
    return (
        torch.tensor([preset.sky_sigma[band] for band in bands]),
        torch.tensor([preset.gain[band] for band in bands]),
    )


def preset_display(preset: SurveyPreset, bands: Sequence[str]) -> torch.Tensor | None:
    """The ``DISPLAY`` row of the preset's samples (``transforms.display``); None for asinh."""
    if preset.display == "asinh":
        return None
    scales = [preset.lupton_scales[band] for band in bands]  # type: ignore[index]
    minimum = [(preset.lupton_minimum or {}).get(band, 0.0) for band in bands]
    quality = float(preset.jpeg_quality or 0)
    return torch.tensor([preset.lupton_q, preset.lupton_stretch, quality, *scales, *minimum])


def asinh_display_row(n_bands: int) -> torch.Tensor:
    """A ``DISPLAY`` row (Q = 0) showing its sample in galvision's asinh display space."""
    return torch.tensor([0.0, 1.0, 0.0, *[1.0] * n_bands, *[0.0] * n_bands])


def load_preset(path: str | Path) -> SurveyPreset:
    """Read a preset YAML file; an unknown key or a bad value is a one-line ConfigError."""
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read the survey preset ({error})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: a survey preset is a mapping of keys to values")
    known = {f.name for f in fields(SurveyPreset)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {unknown}; a survey preset has {sorted(known)}")
    try:
        return SurveyPreset(**values)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def save_preset(preset: SurveyPreset, path: str | Path) -> None:
    """Write a preset as YAML that :func:`load_preset` reads back equal."""
    Path(path).write_text(yaml.safe_dump(preset.to_dict(), sort_keys=False))
