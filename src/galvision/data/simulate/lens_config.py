"""The parameters of simulated strong-lens fields, hashed into the key of their cache file."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from galvision.data.simulate.config import SurveyConfig
from galvision.data.simulate.hashed import HashedConfig
from galvision.errors import ConfigError

# Every object of a field is one of these, in this order in the stored object table.
OBJECT_KINDS = ("lens", "galaxy", "ring", "spiral", "merger", "companion")
# Everything but lenses: plain bulge + disk galaxies and lens impostors (hard negatives).
NEGATIVE_KINDS = OBJECT_KINDS[1:]


def _default_weights() -> dict[str, float]:
    return {"galaxy": 2.0, "ring": 1.0, "spiral": 1.0, "merger": 1.0, "companion": 1.0}


@dataclass(frozen=True, eq=False)
class LensFieldConfig(HashedConfig):
    """Seeded fields of strong lenses (lenstronomy) among ordinary galaxies (GalSim)."""

    n_fields: int = 1400
    seed: int = 0
    field_size: int = 128
    pixel_scale: float = 0.262  # arcsec per pixel, DECaLS
    bands: tuple[str, ...] = ("g", "r", "z")
    max_lenses: int = 2
    lens_fraction: float = 0.5  # share of fields holding at least one lens
    max_galaxies: int = 5  # every field holds 1..max_galaxies other objects
    # Relative frequency of each kind of non-lens object, by name from NEGATIVE_KINDS.
    object_weights: dict[str, float] = field(default_factory=_default_weights)
    theta_e_range: tuple[float, float] = (0.8, 2.5)  # arcsec, Einstein radius
    lens_mag_range: tuple[float, float] = (18.0, 20.5)  # r-band AB of the deflector's light
    source_mag_range: tuple[float, float] = (19.5, 22.0)  # r-band AB of the unlensed source
    galaxy_mag_range: tuple[float, float] = (18.0, 22.0)  # r-band AB of bulge + disk galaxies
    impostor_mag_range: tuple[float, float] = (17.0, 19.5)  # rings, spirals, mergers, companions
    render_size: int = 64  # pixels of the stamp each object is rendered on before placing it
    min_separation: float = 16.0  # pixels, side of the square around a non-lens object kept free
    psf_fwhm_range: tuple[float, float] = (0.9, 1.6)  # arcsec, r band
    n_psfs: int = 512
    psf_size: int = 31
    target_fwhm: float = 0.1  # arcsec
    version: int = 1  # bump when the simulator's output changes, to invalidate caches

    def __post_init__(self) -> None:
        # YAML and JSON give lists and ints; tuples and floats keep the digest stable.
        object.__setattr__(self, "bands", tuple(self.bands))
        for name, value in asdict(self).items():
            if name.endswith("_range"):
                object.__setattr__(self, name, tuple(float(x) for x in value))
        for name in ("pixel_scale", "lens_fraction", "min_separation", "target_fwhm"):
            object.__setattr__(self, name, float(getattr(self, name)))
        weights = {str(k): float(v) for k, v in dict(self.object_weights).items()}
        object.__setattr__(self, "object_weights", weights)
        self.validate()

    def survey(self, mag_range: tuple[float, float] | None = None) -> SurveyConfig:
        """The survey settings the galaxy and PSF renderers expect, on `render_size` stamps."""
        return SurveyConfig(
            n_galaxies=self.n_fields,
            seed=self.seed,
            stamp_size=self.render_size,
            pixel_scale=self.pixel_scale,
            bands=self.bands,
            mag_range=mag_range or self.galaxy_mag_range,
            psf_fwhm_range=self.psf_fwhm_range,
            n_psfs=self.n_psfs,
            psf_size=self.psf_size,
            target_fwhm=self.target_fwhm,
        )

    def validate(self) -> None:
        """Raise ConfigError naming the first field with an impossible value."""
        problems = {
            "n_fields": (self.n_fields < 1, "must be at least 1"),
            "field_size": (
                self.field_size < 16 or self.field_size % 8,
                "must be a multiple of 8, at least 16",
            ),
            "max_lenses": (self.max_lenses < 1, "must be at least 1"),
            "lens_fraction": (not 0.0 <= self.lens_fraction <= 1.0, "must lie in [0, 1]"),
            "max_galaxies": (self.max_galaxies < 1, "must be at least 1"),
            "render_size": (
                not 16 <= self.render_size <= self.field_size,
                f"must lie in [16, field_size={self.field_size}]",
            ),
            "min_separation": (self.min_separation < 0, "must be >= 0"),
        }
        for name, (bad, rule) in problems.items():
            if bad:
                raise ConfigError(f"LensFieldConfig.{name}={getattr(self, name)!r} {rule}")
        for name, value in asdict(self).items():
            if name.endswith("_range") and (len(value) != 2 or not 0 < value[0] <= value[1]):
                raise ConfigError(
                    f"LensFieldConfig.{name}={value!r} must be (low, high), 0 < low <= high"
                )
        self._validate_weights()
        try:
            self.survey()
        except ConfigError as error:
            raise ConfigError(str(error).replace("SurveyConfig.", "LensFieldConfig.")) from None

    def _validate_weights(self) -> None:
        """Raise ConfigError for unknown object kinds or weights that select nothing."""
        unknown = [name for name in self.object_weights if name not in NEGATIVE_KINDS]
        if unknown:
            raise ConfigError(
                f"LensFieldConfig.object_weights has unknown kind(s) {unknown}; "
                f"allowed: {list(NEGATIVE_KINDS)}"
            )
        for name, weight in self.object_weights.items():
            if not weight >= 0:
                raise ConfigError(
                    f"LensFieldConfig.object_weights[{name!r}]={weight!r} must be >= 0"
                )
        if not sum(self.object_weights.values()) > 0:
            raise ConfigError(
                "LensFieldConfig.object_weights must give some kind a positive weight"
            )
