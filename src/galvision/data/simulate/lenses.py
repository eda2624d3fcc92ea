"""Galaxy-scale strong lenses rendered with lenstronomy: arcs and rings behind a red deflector.

The deflector is a singular isothermal ellipsoid with external shear, lit by an elliptical
Sérsic aligned with its mass; the source is a blue elliptical Sérsic, sometimes with a compact
star-forming clump. lenstronomy, the field standard, is used: it renders a 64-pixel, 3-band
lens (arcs and deflector light, supersampling 3) in about 3 ms, while caustics 1.7 takes about
2 ms per render once its simulator is built and 5 ms when it is built per lens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from lenstronomy.Data.imaging_data import ImageData
from lenstronomy.Data.psf import PSF
from lenstronomy.ImSim.image_model import ImageModel
from lenstronomy.LensModel.lens_model import LensModel
from lenstronomy.LightModel.light_model import LightModel
from lenstronomy.Util.param_util import phi_q2_ellipticity, shear_polar2cartesian

from galvision.data.intensity import magnitude_to_flux
from galvision.data.simulate.galaxies import COLOUR_SCATTER, band_fluxes
from galvision.data.simulate.lens_config import LensFieldConfig

SUPERSAMPLING = 3
LENS_COLOURS = (1.4, 0.9)  # g-r, r-z of a massive elliptical at z ~ 0.5
SOURCE_COLOURS = (0.2, 0.0)  # a star-forming galaxy at z ~ 1-2
SOURCE_OFFSET_MAX = 0.7  # Einstein radii: most sources sit inside the caustic, giving 2-4 images
MAX_SHEAR = 0.1
CLUMP_PROBABILITY = 0.5
ARC_THRESHOLD = 0.05  # share of the peak lensed source light that still counts as arc
BOX_PAD = 1.5  # pixels added around the arcs, which the seeing spreads further
SERSIC = LightModel(["SERSIC_ELLIPSE"])


@dataclass(frozen=True)
class RenderedLens:
    """A lens on a square stamp: image, lensed source light, box and parameters."""

    image: np.ndarray  # (bands, S, S) float32 nanomaggies per pixel, without PSF
    source: np.ndarray  # (S, S) lensed source light in the r band
    box: np.ndarray  # (4,) x0, y0, x1, y1 in pixels; pixel (i, j) spans [i, i+1] x [j, j+1]
    centre: tuple[float, float]  # x, y of the deflector in the same coordinates
    params: dict[str, float]


def sample_lens_parameters(rng: np.random.Generator, config: LensFieldConfig) -> dict[str, float]:
    """Draw the deflector, shear and source of one lens; angles in radians, sizes in arcsec."""
    theta_e = rng.uniform(*config.theta_e_range)
    # Faber-Jackson: the more massive deflectors are brighter.
    low, high = config.theta_e_range
    rank = (theta_e - low) / (high - low) if high > low else 0.5
    mag_low, mag_high = config.lens_mag_range
    lens_mag = np.clip(
        mag_high - rank * (mag_high - mag_low) + rng.normal(0.0, 0.3), *(mag_low, mag_high)
    )
    offset = theta_e * SOURCE_OFFSET_MAX * math.sqrt(rng.uniform())
    offset_angle = rng.uniform(0.0, 2.0 * math.pi)
    shear, shear_angle = rng.uniform(0.0, MAX_SHEAR), rng.uniform(0.0, math.pi)
    g1, g2 = shear_polar2cartesian(shear_angle, shear)
    source_hlr = rng.uniform(0.15, 0.6)
    has_clump = rng.uniform() < CLUMP_PROBABILITY
    clump_angle = rng.uniform(0.0, 2.0 * math.pi)
    clump_distance = rng.uniform(0.5, 1.5) * source_hlr
    params = {
        "theta_e": theta_e,
        "q": rng.uniform(0.5, 1.0),
        "phi": rng.uniform(0.0, math.pi),
        "shear_g1": g1,
        "shear_g2": g2,
        "dx": rng.uniform(-0.5, 0.5),
        "dy": rng.uniform(-0.5, 0.5),
        "lens_mag": lens_mag,
        "lens_hlr": theta_e * rng.uniform(0.4, 0.8),
        "lens_n": rng.uniform(3.0, 5.0),
        "lens_g_r": rng.normal(LENS_COLOURS[0], COLOUR_SCATTER),
        "lens_r_z": rng.normal(LENS_COLOURS[1], COLOUR_SCATTER),
        "source_mag": rng.uniform(*config.source_mag_range),
        "source_hlr": source_hlr,
        "source_n": rng.uniform(0.5, 1.5),
        "source_q": rng.uniform(0.4, 1.0),
        "source_phi": rng.uniform(0.0, math.pi),
        "source_x": offset * math.cos(offset_angle),
        "source_y": offset * math.sin(offset_angle),
        "source_g_r": rng.normal(SOURCE_COLOURS[0], COLOUR_SCATTER),
        "source_r_z": rng.normal(SOURCE_COLOURS[1], COLOUR_SCATTER),
        "clump_frac": rng.uniform(0.15, 0.4) if has_clump else 0.0,
        "clump_x": clump_distance * math.cos(clump_angle) if has_clump else math.nan,
        "clump_y": clump_distance * math.sin(clump_angle) if has_clump else math.nan,
        "clump_hlr": rng.uniform(0.05, 0.15) if has_clump else math.nan,
    }
    return {name: float(value) for name, value in params.items()}


@lru_cache(maxsize=8)
def _image_model(size: int, pixel_scale: float, source_count: int) -> ImageModel:
    """A PSF-free, supersampled lenstronomy renderer on a stamp centred on the origin."""
    corner = -(size - 1) / 2 * pixel_scale
    # Identity orientation: x grows with the column index, y with the row index.
    data = ImageData(
        image_data=np.zeros((size, size)),
        ra_at_xy_0=corner,
        dec_at_xy_0=corner,
        transform_pix2angle=np.eye(2) * pixel_scale,
    )
    return ImageModel(
        data,
        PSF(psf_type="NONE"),
        lens_model_class=LensModel(["SIE", "SHEAR"]),
        source_model_class=LightModel(["SERSIC_ELLIPSE"] * source_count),
        lens_light_model_class=LightModel(["SERSIC_ELLIPSE"]),
        kwargs_numerics={"supersampling_factor": SUPERSAMPLING},
    )


def _sersic(flux: float, hlr: float, n: float, q: float, phi: float, x: float, y: float) -> dict:
    """lenstronomy keywords of an elliptical Sérsic of total `flux`."""
    e1, e2 = phi_q2_ellipticity(phi, q)
    kwargs = {"R_sersic": hlr, "n_sersic": n, "e1": e1, "e2": e2, "center_x": x, "center_y": y}
    unit = SERSIC.total_flux([kwargs | {"amp": 1.0}])[0]
    return kwargs | {"amp": flux / unit}


def _lenstronomy_kwargs(
    params: dict[str, float], x: float, y: float
) -> tuple[list[dict], list[dict], list[dict]]:
    """lenstronomy keywords of the mass, the source components and the deflector light (r band)."""
    p = params
    e1, e2 = phi_q2_ellipticity(p["phi"], p["q"])
    mass = [
        {"theta_E": p["theta_e"], "e1": e1, "e2": e2, "center_x": x, "center_y": y},
        {"gamma1": p["shear_g1"], "gamma2": p["shear_g2"], "ra_0": x, "dec_0": y},
    ]
    flux = float(magnitude_to_flux(p["source_mag"]))
    sx, sy = x + p["source_x"], y + p["source_y"]
    main = flux * (1.0 - p["clump_frac"])
    source = [_sersic(main, p["source_hlr"], p["source_n"], p["source_q"], p["source_phi"], sx, sy)]
    if p["clump_frac"] > 0:
        clump = (flux * p["clump_frac"], p["clump_hlr"], 1.0, 1.0, 0.0)
        source.append(_sersic(*clump, sx + p["clump_x"], sy + p["clump_y"]))
    lens_flux = float(magnitude_to_flux(p["lens_mag"]))
    light = [_sersic(lens_flux, p["lens_hlr"], p["lens_n"], p["q"], p["phi"], x, y)]
    return mass, source, light


def arc_box(source: np.ndarray, centre: tuple[float, float], radius: float) -> np.ndarray:
    """Box around the source light above ARC_THRESHOLD of its peak and the Einstein circle.

    Args:
        source: (S, S) lensed source light.
        centre: x, y of the deflector in pixels.
        radius: Einstein radius in pixels.
    """
    rows, columns = np.nonzero(source >= ARC_THRESHOLD * source.max())
    x, y = centre
    box = np.array(
        [
            min(columns.min(), x - radius) - BOX_PAD,
            min(rows.min(), y - radius) - BOX_PAD,
            max(columns.max() + 1, x + radius) + BOX_PAD,
            max(rows.max() + 1, y + radius) + BOX_PAD,
        ]
    )
    return np.clip(box, 0.0, source.shape[-1]).astype(np.float32)


def draw_lens(params: dict[str, float], config: LensFieldConfig) -> RenderedLens:
    """Render one lens on a `render_size` stamp, without PSF, and measure its arcs."""
    size, scale = config.render_size, config.pixel_scale
    mass, source, light = _lenstronomy_kwargs(params, params["dx"] * scale, params["dy"] * scale)
    model = _image_model(size, scale, len(source))
    arcs = model.image(mass, source, None, source_add=True, lens_light_add=False)
    deflector = model.image(mass, None, light, source_add=False, lens_light_add=True)
    colours = {
        name: band_fluxes(1.0, params[f"{name}_g_r"], params[f"{name}_r_z"], config.bands)
        for name in ("lens", "source")
    }
    image = np.stack(
        [s * arcs + d * deflector for s, d in zip(colours["source"], colours["lens"], strict=True)]
    )
    centre = (size / 2 + params["dx"], size / 2 + params["dy"])
    box = arc_box(arcs, centre, params["theta_e"] / scale)
    magnification = float(arcs.sum() / magnitude_to_flux(params["source_mag"]))
    return RenderedLens(
        image=image.astype(np.float32),
        source=arcs,
        box=box,
        centre=centre,
        params=params | {"magnification": magnification},
    )
