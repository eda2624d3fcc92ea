"""The parameters of a simulated survey, hashed into the key of its cache file."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from galvision.errors import ConfigError

KNOWN_BANDS = ("u", "g", "r", "i", "z", "y")


@dataclass(frozen=True)
class SurveyConfig:
    """A seeded survey of noise-free galaxies and ground-based PSFs rendered with GalSim."""

    n_galaxies: int = 6000
    seed: int = 0
    stamp_size: int = 64
    pixel_scale: float = 0.262  # arcsec per pixel, DECaLS
    bands: tuple[str, ...] = ("g", "r", "z")
    mag_range: tuple[float, float] = (17.0, 21.5)  # r-band AB magnitude
    psf_fwhm_range: tuple[float, float] = (0.9, 1.6)  # arcsec, r band
    n_psfs: int = 512
    psf_size: int = 31
    target_fwhm: float = 0.1  # arcsec, a narrow space-like PSF
    version: int = 1  # bump when the simulator's output changes, to invalidate caches

    def __post_init__(self) -> None:
        # YAML and JSON give lists; tuples keep the config hashable and its digest stable.
        for name in ("bands", "mag_range", "psf_fwhm_range"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        self.validate()

    def to_json(self) -> str:
        """All fields as a JSON object with sorted keys."""
        return json.dumps(asdict(self), sort_keys=True)

    def digest(self) -> str:
        """Short sha256 of the fields, the cache key of the survey."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def validate(self) -> None:
        """Raise ConfigError naming the first field with an impossible value."""
        problems = {
            "n_galaxies": (self.n_galaxies < 1, "must be at least 1"),
            "stamp_size": (self.stamp_size < 8, "must be at least 8 pixels"),
            "pixel_scale": (self.pixel_scale <= 0, "must be positive"),
            "bands": (not self.bands, "must name at least one band"),
            "n_psfs": (self.n_psfs < 1, "must be at least 1"),
            "psf_size": (self.psf_size < 3 or self.psf_size % 2 == 0, "must be odd and >= 3"),
            "target_fwhm": (self.target_fwhm <= 0, "must be positive"),
        }
        for name, (bad, rule) in problems.items():
            if bad:
                raise ConfigError(f"SurveyConfig.{name}={getattr(self, name)!r} {rule}")
        unknown = [band for band in self.bands if band not in KNOWN_BANDS]
        if unknown:
            raise ConfigError(
                f"SurveyConfig.bands has unknown band(s) {unknown}; allowed: {list(KNOWN_BANDS)}"
            )
        if len(set(self.bands)) != len(self.bands):
            raise ConfigError(f"SurveyConfig.bands={list(self.bands)} repeats a band")
        for name in ("mag_range", "psf_fwhm_range"):
            value = getattr(self, name)
            if len(value) != 2 or value[0] > value[1]:
                raise ConfigError(f"SurveyConfig.{name}={value!r} must be (low, high), low <= high")
        if self.psf_fwhm_range[0] <= 0:
            raise ConfigError(
                f"SurveyConfig.psf_fwhm_range={self.psf_fwhm_range!r} must be positive"
            )
