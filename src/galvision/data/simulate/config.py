"""The parameters of a simulated survey, hashed into the key of its cache file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from galvision.data.simulate.classes import CLASS_NAMES
from galvision.data.simulate.hashed import HashedConfig
from galvision.data.simulate.presets import DECALS, KNOWN_BANDS, SurveyPreset
from galvision.errors import ConfigError

CATALOGUES = ("bulge_disk", "morphology")
GALAXY_MODELS = ("analytic", "realistic")
SCENES = ("isolated", "crowded")


@dataclass(frozen=True, eq=False)
class SurveyConfig(HashedConfig):
    """A seeded survey of noise-free galaxies and their PSFs rendered with GalSim.

    ``preset`` says how the survey images and displays galaxies; ``pixel_scale``, ``bands``
    and ``psf_fwhm_range`` default to the preset's and, given, override them.
    """

    n_galaxies: int = 6000
    seed: int = 0
    stamp_size: int = 64
    pixel_scale: float | None = None  # arcsec per pixel
    bands: tuple[str, ...] | None = None
    mag_range: tuple[float, float] = (17.0, 21.5)  # r-band AB; morphology wants ~(15.5, 19)
    psf_fwhm_range: tuple[float, float] | None = None  # arcsec, r band
    n_psfs: int = 512
    psf_size: int = 31
    target_fwhm: float = 0.1  # arcsec, a narrow space-like PSF
    version: int = 1  # bump when the simulator's output changes, to invalidate caches
    catalogue: Literal["bulge_disk", "morphology"] = "bulge_disk"
    # Relative frequency of each morphology class by name; unnamed classes are not drawn.
    # None gives balanced classes: galaxy i has class i % 10.
    class_weights: dict[str, float] | None = None
    preset: SurveyPreset = DECALS
    # Morphology galaxies: smooth analytic components, or with knots, flocculent arms, dust
    # lanes and colours by type (galvision.data.simulate.realism).
    galaxies: Literal["analytic", "realistic"] = "analytic"
    # Each galaxy alone in its stamp, or among what real cutouts hold: magnified galaxies that
    # overflow the stamp, neighbours, stars, colours from grey to extreme
    # (galvision.data.simulate.scene).
    scene: Literal["isolated", "crowded"] = "isolated"
    later_fields: ClassVar[tuple[str, ...]] = (
        "catalogue",
        "class_weights",
        "preset",
        "galaxies",
        "scene",
    )

    def __post_init__(self) -> None:
        if isinstance(self.preset, dict):  # read back from a file's JSON header
            object.__setattr__(self, "preset", SurveyPreset(**self.preset))
        for name in ("pixel_scale", "bands", "psf_fwhm_range"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, getattr(self.preset, name))
        # YAML and JSON give lists; tuples keep the config hashable and its digest stable.
        object.__setattr__(self, "bands", tuple(self.bands))
        for name in ("mag_range", "psf_fwhm_range"):
            # Floats, so that 19 and 19.0 give the same digest (and the same cache file).
            object.__setattr__(self, name, tuple(float(x) for x in getattr(self, name)))
        for name in ("pixel_scale", "target_fwhm"):
            object.__setattr__(self, name, float(getattr(self, name)))
        if self.class_weights is not None:
            # Floats, so that a weight written 2 or 2.0 gives the same digest.
            weights = {str(name): float(w) for name, w in dict(self.class_weights).items()}
            object.__setattr__(self, "class_weights", weights)
        self.validate()

    @property
    def psf_bank_fwhm_range(self) -> tuple[float, float]:
        """Arcsec FWHM range of the PSF bank: the seeing, or what framed galaxies need."""
        if self.preset.frame_r90 is None:
            return self.psf_fwhm_range
        low, high = self.preset.frame_psf_pixels
        return (low * self.pixel_scale, high * self.pixel_scale)

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
        self._validate_catalogue()
        self.preset.check_bands(self.bands, "SurveyConfig.bands")

    def _validate_catalogue(self) -> None:
        """Raise ConfigError for an unknown catalogue or class weights it cannot use."""
        if self.catalogue not in CATALOGUES:
            raise ConfigError(
                f"SurveyConfig.catalogue={self.catalogue!r} is unknown; allowed: {list(CATALOGUES)}"
            )
        if self.galaxies not in GALAXY_MODELS:
            raise ConfigError(
                f"SurveyConfig.galaxies={self.galaxies!r} is unknown; "
                f"allowed: {list(GALAXY_MODELS)}"
            )
        if self.scene not in SCENES:
            raise ConfigError(
                f"SurveyConfig.scene={self.scene!r} is unknown; allowed: {list(SCENES)}"
            )
        if self.scene != "isolated" and self.preset.frame_r90 is not None:
            raise ConfigError(
                f"SurveyConfig.scene={self.scene!r} needs an unframed preset; "
                f"{self.preset.name!r} frames each galaxy by its size"
            )
        if self.galaxies != "analytic" and self.catalogue != "morphology":
            raise ConfigError(
                f"SurveyConfig.galaxies={self.galaxies!r} needs catalogue='morphology', "
                f"not {self.catalogue!r}"
            )
        if self.preset.frame_r90 is not None and self.catalogue != "morphology":
            raise ConfigError(
                f"SurveyConfig.preset {self.preset.name!r} frames galaxies by their size, which "
                f"needs catalogue='morphology', not {self.catalogue!r}"
            )
        weights = self.class_weights
        if weights is None:
            return
        if self.catalogue != "morphology":
            raise ConfigError(
                f"SurveyConfig.class_weights needs catalogue='morphology', not {self.catalogue!r}"
            )
        unknown = [name for name in weights if name not in CLASS_NAMES]
        if unknown:
            raise ConfigError(
                f"SurveyConfig.class_weights has unknown class(es) {unknown}; "
                f"allowed: {list(CLASS_NAMES)}"
            )
        for name, weight in weights.items():
            if not weight >= 0:
                raise ConfigError(f"SurveyConfig.class_weights[{name!r}]={weight!r} must be >= 0")
        if not sum(weights.values()) > 0:
            raise ConfigError("SurveyConfig.class_weights must give some class a positive weight")
