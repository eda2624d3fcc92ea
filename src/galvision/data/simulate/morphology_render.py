"""Turn morphology parameters into pixels: light shares, band fluxes and GalSim profiles."""

from __future__ import annotations

import math
from dataclasses import astuple

import galsim
import numpy as np

from galvision.data.intensity import magnitude_to_flux
from galvision.data.simulate import components, realism
from galvision.data.simulate.config import SurveyConfig
from galvision.data.simulate.galaxies import BULGE_TRUNCATION, band_fluxes, draw_unit

TAIL_WIDTH = 0.2  # initial tail width in disk half-light radii
ARM_START = 0.5  # disk half-light radii where the arms of an unbarred spiral begin
BAR_END = 2.0  # bar half-light semi-major axes where the light of a bar fades and arms begin
LANE = "lane"  # the dust lane of an edge-on disk: a thin component of negative flux
LANE_THINNING = 0.3  # axis ratio of the lane over its disk's: dust sits in a thinner layer


def _has(params: dict[str, float], name: str) -> bool:
    """Whether a parameter applies to this galaxy."""
    return not math.isnan(params[name])


def _share(params: dict[str, float], name: str) -> float:
    """A light share, 0 where it does not apply."""
    return params[name] if _has(params, name) else 0.0


def light_fractions(params: dict[str, float]) -> dict[str, tuple[float, str]]:
    """Share of the system's r-band light and colour population of each component present."""
    if _has(params, "sersic_n"):
        return {"body": (1.0, "bulge")}
    tails = _share(params, "tail_frac")
    galaxy = 1.0 - tails
    shares = {"tails": (tails, "disk")}
    if _has(params, "companion_sep"):
        companion = galaxy / (1.0 + params["companion_flux_ratio"])
        galaxy -= companion
        bulge = companion * params["bulge_frac"]
        shares |= {
            "companion_bulge": (bulge, "bulge"),
            "companion_disk": (companion - bulge, "disk"),
        }
    bulge, bar, ring = (
        galaxy * _share(params, f"{part}_frac") for part in ("bulge", "bar", "ring")
    )
    disk = galaxy - bulge - bar - ring
    arms = disk * _share(params, "arm_strength")
    knots = (disk - arms) * _share(params, "knot_frac")
    arm_knots = arms * _share(params, "arm_knot_frac")
    shares |= {
        "bulge": (bulge, "bulge"),
        "bar": (bar, "bulge"),
        "ring": (ring, "young"),
        "arms": (arms - arm_knots, "young"),
        "arm_knots": (arm_knots, "young"),
        "knots": (knots, "young"),
        "disk": (disk - arms - knots, "disk"),
    }
    return {name: share for name, share in shares.items() if share[0] > 0}


def component_fluxes(params: dict[str, float], config: SurveyConfig) -> dict[str, list[float]]:
    """Flux in nanomaggies in each band of the config, per component present."""
    total = float(magnitude_to_flux(params["mag_r"]))
    fluxes = {
        name: band_fluxes(
            total * fraction, params[f"{population}_g_r"], params[f"{population}_r_z"], config.bands
        )
        for name, (fraction, population) in light_fractions(params).items()
    }
    if _has(params, "dust_depth"):
        # The lane's flux over the disk's is its midplane absorption times its thinning.
        depth = params["dust_depth"] * LANE_THINNING
        fluxes[LANE] = realism.lane_fluxes(fluxes["disk"], depth, config.bands)
    return fluxes


def _sersic(n: float, hlr: float) -> galsim.Sersic:
    """A truncated Sérsic profile, which GalSim draws quickly in real space."""
    return galsim.Sersic(n=n, half_light_radius=hlr, trunc=BULGE_TRUNCATION * hlr)


def _spiral(params: dict[str, float]) -> components.Spiral:
    """The arms of a spiral: they leave the ends of a bar, or the inner disk."""
    hlr = params["hlr"]
    barred = _has(params, "bar_length")
    return components.Spiral(
        hlr,
        int(params["arm_count"]),
        params["pitch_deg"],
        params["arm_winding"],
        params["position_angle"] + params["arm_phase"],
        BAR_END * params["bar_length"] if barred else ARM_START * hlr,
    )


def _texture_seed(params: dict[str, float]) -> int:
    """Seed of a galaxy's knots and arm variations (0 for analytic galaxies)."""
    return int(params["texture_seed"]) if _has(params, "texture_seed") else 0


def _galaxy_component(name: str, params: dict[str, float], pixel_scale: float) -> galsim.GSObject:
    """One unit-flux component of a single galaxy centred on the origin."""
    angle = params["position_angle"] * galsim.radians
    hlr = params["hlr"]
    if name == LANE:
        lane_q = LANE_THINNING * params["q"]
        return galsim.Exponential(half_light_radius=hlr).shear(q=lane_q, beta=angle)
    if name == "body":
        return _sersic(params["sersic_n"], hlr).shear(q=params["q"], beta=angle)
    if name == "bulge":
        return _sersic(params["bulge_n"], params["bulge_hlr"]).shear(
            q=params["bulge_q"], beta=angle
        )
    # The rest lies in the disk plane: drawn face-on, angles from the major axis, then inclined.
    if name == "disk":
        face_on = galsim.Exponential(half_light_radius=hlr)
    elif name == "bar":
        # A sheared profile's major-axis half-light radius is its half-light radius / sqrt(q).
        bar_hlr = params["bar_length"] * math.sqrt(params["bar_q"])
        face_on = galsim.Sersic(n=params["bar_n"], half_light_radius=bar_hlr).shear(
            q=params["bar_q"], beta=angle + params["bar_angle"] * galsim.radians
        )
    elif name == "arms":
        face_on = components.spiral_arms(
            *astuple(_spiral(params)),
            pixel_scale,
            flocculence=_share(params, "flocculence"),
            seed=_texture_seed(params),
        )
    elif name == "arm_knots":
        face_on = components.arm_knots(
            _spiral(params), int(params["knot_count"]), params["knot_size"], _texture_seed(params)
        )
    elif name == "knots":
        face_on = components.disk_knots(
            hlr, int(params["knot_count"]), params["knot_size"], _texture_seed(params) + 1
        )
    elif name == "ring":
        face_on = components.ring(params["ring_radius"], params["ring_width"], pixel_scale)
    else:
        raise ValueError(f"unknown galaxy component {name!r}")
    return face_on.shear(q=params["q"], beta=angle)


def _tail_paths(
    params: dict[str, float], main: tuple[float, float], companion: tuple[float, float]
) -> list[components.TailPath]:
    """Tails leaving each galaxy away from the other and bending the same way."""
    bend = math.radians(params["tail_bend_deg"])
    away = params["companion_angle"]
    bases = [(main, away + math.pi), (companion, away)][: int(params["tail_count"])]
    width = TAIL_WIDTH * params["hlr"]
    # Realistic mergers have a shorter second tail.
    lengths = [
        params["tail_length"],
        params["tail_length"] * (_share(params, "tail_asymmetry") or 1),
    ]
    return [
        components.TailPath(x, y, heading - 0.5 * bend, length, bend, width)
        for ((x, y), heading), length in zip(bases, lengths, strict=False)
    ]


def component_profiles(params: dict[str, float], pixel_scale: float) -> dict[str, galsim.GSObject]:
    """Unit-flux GalSim profile of each component present, placed around the system's centre."""
    names = [*light_fractions(params), *([LANE] if _has(params, "dust_depth") else [])]
    if not _has(params, "companion_sep"):
        return {name: _galaxy_component(name, params, pixel_scale) for name in names}
    # The centre of light of the pair sits at the origin.
    sep, angle, ratio = (params[f"companion_{k}"] for k in ("sep", "angle", "flux_ratio"))
    direction = (sep * math.cos(angle), sep * math.sin(angle))
    main = (-direction[0] / (1.0 + ratio), -direction[1] / (1.0 + ratio))
    companion = (direction[0] + main[0], direction[1] + main[1])
    shrink = params["companion_hlr"] / params["hlr"]
    companion_params = params | {
        "hlr": params["companion_hlr"],
        "bulge_hlr": params["bulge_hlr"] * shrink,
        "q": params["companion_q"],
        "position_angle": params["companion_pa"],
    }
    profiles = {}
    for name in names:
        if name == "tails":
            profiles[name] = components.tidal_tails(
                _tail_paths(params, main, companion), pixel_scale
            )
        elif name.startswith("companion_"):
            part = name.removeprefix("companion_")
            profiles[name] = _galaxy_component(part, companion_params, pixel_scale).shift(companion)
        else:
            profiles[name] = _galaxy_component(name, params, pixel_scale).shift(main)
    return profiles


def draw_morphology(params: dict[str, float], config: SurveyConfig) -> np.ndarray:
    """Render one galaxy as (bands, stamp, stamp) float32 nanomaggies per pixel, without PSF."""
    fluxes = component_fluxes(params, config)
    image = np.zeros((len(config.bands), config.stamp_size, config.stamp_size))
    # Drawing is linear in flux: render each component once and mix it into every band.
    for name, profile in component_profiles(params, config.pixel_scale).items():
        image += np.asarray(fluxes[name])[:, None, None] * draw_unit(profile, params, config)
    # A dust lane absorbs light; it cannot take more than there is.
    return (
        np.clip(image, 0.0, None).astype(np.float32) if LANE in fluxes else image.astype(np.float32)
    )
