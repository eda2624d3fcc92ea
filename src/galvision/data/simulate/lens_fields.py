"""Fields of strong lenses among galaxies and lens impostors, rendered in parallel and cached.

Each field holds 0..max_lenses lenses (a share ``lens_fraction`` of fields at least one) and
1..max_galaxies other objects: bulge + disk galaxies and hard negatives (rings, spirals,
mergers, red ellipticals with a small blue companion). Every object is rendered without PSF on
a ``render_size`` stamp and added at a random place; a lens is placed so that its box lies
wholly inside the field, and no object is placed inside another's box or too close to it.
One process renders about 7 fields of 128 pixels per second with the default config
(measured on a shared 2-core machine); the GalSim galaxies cost more than the lenses.

Coordinates: pixel (i, j), column i along the width and row j, spans [i, i+1] x [j, j+1];
boxes and object centres are in these pixel units.

HDF5 layout (N fields, K = max_lenses, C bands, H = W = field_size):

- ``clean`` (N, C, H, W) f4: noise-free, PSF-free fields in nanomaggies per pixel.
- ``boxes`` (N, K, 4) f4: x0, y0, x1, y1 of each lens's arcs and Einstein circle; NaN rows pad.
- ``box_count`` (N,) i8: lenses in the field; ``label`` (N,) i8: 1 if it holds a lens.
- ``lens_params/<name>`` (N, K) f8: each lens's parameters (lenses.py), NaN-padded.
- ``objects/{field,x,y,kind}``: one row per object, lenses included; ``kind`` indexes the
  JSON list in the ``object_kinds`` attribute.
- ``psf_ground``, ``psf_ground_fwhm``, ``psf_target``, ``psf_params/``: as in a survey file.
- attributes ``config`` (JSON), ``digest``, ``bands``, ``pixel_scale``, ``complete``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import h5py
import numpy as np

from galvision.data.simulate import classes
from galvision.data.simulate.cache import (
    atomic_h5,
    cache_dir,
    cached_file,
    check_datasets,
    check_h5,
    parallel_chunks,
    read_header,
    write_header,
)
from galvision.data.simulate.galaxies import draw_galaxy, sample_galaxy_parameters
from galvision.data.simulate.lens_config import NEGATIVE_KINDS, OBJECT_KINDS, LensFieldConfig
from galvision.data.simulate.lenses import (
    LENS_COLOURS,
    SOURCE_COLOURS,
    draw_lens,
    sample_lens_parameters,
)
from galvision.data.simulate.morphology import sample_morphology_parameters
from galvision.data.simulate.morphology_render import draw_morphology
from galvision.data.simulate.survey import psf_shapes, write_psfs

FIELD_STREAM = 3  # apart from the survey's galaxy (0), PSF (1) and gallery (2) streams
CHUNK = 16  # fields per task
PLACEMENT_TRIES = 30
EDGE_MARGIN = 4.0  # pixels between a non-lens object's centre and the field's edge
MORPHOLOGY_CLASSES = {
    "ring": (classes.RING,),
    "spiral": (
        classes.UNBARRED_TIGHT_SPIRAL,
        classes.UNBARRED_LOOSE_SPIRAL,
        classes.BARRED_SPIRAL,
    ),
    "merger": (classes.MERGER,),
}
ELLIPTICALS = (classes.SMOOTH_ROUND, classes.SMOOTH_IN_BETWEEN)
OBJECT_COLUMNS = ("field", "x", "y", "kind")


@dataclass
class Field:
    """One rendered field: image, lensed source light, lens boxes and parameters, objects."""

    clean: np.ndarray  # (C, H, W) float32
    source: np.ndarray  # (H, W) lensed source light of every lens, r band
    boxes: np.ndarray  # (n_lenses, 4) float32 (a list of boxes while being rendered)
    lens_params: list[dict[str, float]]
    objects: list[tuple[float, float, int]]  # x, y and index in OBJECT_KINDS


def field_rng(config: LensFieldConfig, index: int) -> np.random.Generator:
    """The generator of field `index`, independent of how the work is split."""
    return np.random.default_rng([config.seed, FIELD_STREAM, index])


def _companion(
    rng: np.random.Generator, config: LensFieldConfig
) -> tuple[np.ndarray, dict[str, float]]:
    """A red elliptical with a blue galaxy an Einstein radius or so away (a lens impostor)."""
    survey = config.survey(config.impostor_mag_range)
    label = classes.CLASS_NAMES.index(ELLIPTICALS[rng.integers(len(ELLIPTICALS))])
    host = sample_morphology_parameters(rng, survey, label)
    host["bulge_g_r"], host["bulge_r_z"] = rng.normal(LENS_COLOURS, 0.1)
    separation = rng.uniform(*config.theta_e_range) / config.pixel_scale
    angle = rng.uniform(0.0, 2.0 * math.pi)
    blue = sample_galaxy_parameters(rng, survey) | {
        "mag_r": host["mag_r"] + rng.uniform(1.5, 3.5),
        "bulge_frac": 0.0,
        "disk_hlr": rng.uniform(0.2, 0.5),
        "dx": host["dx"] + separation * math.cos(angle),
        "dy": host["dy"] + separation * math.sin(angle),
    }
    blue["disk_g_r"], blue["disk_r_z"] = rng.normal(SOURCE_COLOURS, 0.1)
    return draw_morphology(host, survey) + draw_galaxy(blue, survey), host


def draw_negative(
    kind: str, rng: np.random.Generator, config: LensFieldConfig
) -> tuple[np.ndarray, tuple[float, float]]:
    """Render a non-lens object of `kind` on a stamp: image and its centre's offset in pixels."""
    if kind == "companion":
        image, params = _companion(rng, config)
    elif kind == "galaxy":
        survey = config.survey()
        params = sample_galaxy_parameters(rng, survey)
        image = draw_galaxy(params, survey)
    else:
        survey = config.survey(config.impostor_mag_range)
        names = MORPHOLOGY_CLASSES[kind]
        label = classes.CLASS_NAMES.index(names[rng.integers(len(names))])
        params = sample_morphology_parameters(rng, survey, label)
        image = draw_morphology(params, survey)
    return image, (params["dx"], params["dy"])


def _overlaps(zone: np.ndarray, zones: list[np.ndarray]) -> bool:
    """Whether box `zone` intersects any of `zones` (x0, y0, x1, y1)."""
    return any(
        zone[0] < z[2] and z[0] < zone[2] and zone[1] < z[3] and z[1] < zone[3] for z in zones
    )


def _paste(field: np.ndarray, stamp: np.ndarray, left: int, top: int) -> None:
    """Add `stamp` to `field` with its corner at column `left`, row `top`, clipped to the field."""
    size, height = stamp.shape[-1], field.shape[-1]
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + size, height), min(top + size, height)
    if x0 < x1 and y0 < y1:
        field[..., y0:y1, x0:x1] += stamp[..., y0 - top : y1 - top, x0 - left : x1 - left]


def _free_zone(draw: Callable[[], np.ndarray], zones: list[np.ndarray]) -> np.ndarray | None:
    """The first of PLACEMENT_TRIES zones from `draw` that overlaps none of `zones`, if any."""
    for _ in range(PLACEMENT_TRIES):
        zone = draw()
        if not _overlaps(zone, zones):
            return zone
    return None


def _lens_zone(rng: np.random.Generator, box: np.ndarray, size: int) -> np.ndarray:
    """A stamp box shifted by whole pixels to a random place wholly inside the field."""
    left = rng.integers(math.ceil(-box[0]), math.floor(size - box[2]) + 1)
    top = rng.integers(math.ceil(-box[1]), math.floor(size - box[3]) + 1)
    return box + np.array([left, top, left, top], dtype=np.float32)


def _object_zone(rng: np.random.Generator, config: LensFieldConfig) -> np.ndarray:
    """The square of side min_separation around a random centre that other objects keep out of."""
    x, y = rng.uniform(EDGE_MARGIN, config.field_size - EDGE_MARGIN, size=2)
    half = config.min_separation / 2
    return np.array([x - half, y - half, x + half, y + half])


def _kinds(rng: np.random.Generator, config: LensFieldConfig) -> list[str]:
    """The kinds of the objects of a field, lenses first."""
    has_lens = rng.uniform() < config.lens_fraction
    n_lenses = int(rng.integers(1, config.max_lenses + 1)) if has_lens else 0
    weights = np.array([config.object_weights.get(kind, 0.0) for kind in NEGATIVE_KINDS])
    others = rng.choice(
        NEGATIVE_KINDS, size=rng.integers(1, config.max_galaxies + 1), p=weights / weights.sum()
    )
    return ["lens"] * n_lenses + [str(kind) for kind in others]


def render_field(config: LensFieldConfig, index: int) -> Field:
    """Sample and render field `index`; an object that finds no free place is left out."""
    rng = field_rng(config, index)
    size, stamp = config.field_size, config.render_size
    field = Field(np.zeros((len(config.bands), size, size)), np.zeros((size, size)), [], [], [])
    zones = []
    for kind in _kinds(rng, config):
        if kind == "lens":
            lens = draw_lens(sample_lens_parameters(rng, config), config)
            zone = _free_zone(partial(_lens_zone, rng, lens.box, size), zones)
            if zone is None:
                continue
            left, top = (round(float(v)) for v in zone[:2] - lens.box[:2])
            _paste(field.source, lens.source, left, top)
            field.boxes.append(zone)
            field.lens_params.append(lens.params)
            image, (x, y) = lens.image, (lens.centre[0] + left, lens.centre[1] + top)
        else:
            image, (dx, dy) = draw_negative(kind, rng, config)
            zone = _free_zone(partial(_object_zone, rng, config), zones)
            if zone is None:
                continue
            x, y = (zone[:2] + zone[2:]) / 2
            left, top = round(x - stamp / 2 - dx), round(y - stamp / 2 - dy)
            x, y = left + stamp / 2 + dx, top + stamp / 2 + dy
        _paste(field.clean, image, left, top)
        field.objects.append((float(x), float(y), OBJECT_KINDS.index(kind)))
        zones.append(zone)
    field.clean = field.clean.astype(np.float32)
    field.boxes = np.array(field.boxes, dtype=np.float32).reshape(-1, 4)
    return field


def render_chunk(config: LensFieldConfig, start: int, stop: int) -> dict[str, np.ndarray]:
    """Fields start..stop-1 as arrays; top level so spawned workers can import it."""
    fields = [render_field(config, index) for index in range(start, stop)]
    k = config.max_lenses
    boxes = np.full((len(fields), k, 4), np.nan, dtype=np.float32)
    names = lens_parameter_names(config)
    lens_params = {name: np.full((len(fields), k), np.nan) for name in names}
    for row, field in enumerate(fields):
        boxes[row, : len(field.boxes)] = field.boxes
        for slot, values in enumerate(field.lens_params):
            for name in names:
                lens_params[name][row, slot] = values[name]
    objects = [
        (start + row, x, y, kind)
        for row, field in enumerate(fields)
        for x, y, kind in field.objects
    ]
    return {
        "clean": np.stack([field.clean for field in fields]),
        "boxes": boxes,
        "box_count": np.array([len(field.boxes) for field in fields], dtype=np.int64),
        "lens_params": lens_params,
        "objects": np.array(objects, dtype=np.float64).reshape(-1, 4),
    }


def lens_parameter_names(config: LensFieldConfig) -> list[str]:
    """Names of the stored parameters of every lens."""
    params = sample_lens_parameters(np.random.default_rng(0), config)
    return [*params, "magnification"]


def _write_fields(file: h5py.File, config: LensFieldConfig, workers: int, progress: bool) -> None:
    """Render every field into the open file."""
    n, k, size = config.n_fields, config.max_lenses, config.field_size
    shape = (len(config.bands), size, size)
    clean = file.create_dataset("clean", shape=(n, *shape), dtype="f4", chunks=(1, *shape))
    boxes = file.create_dataset("boxes", shape=(n, k, 4), dtype="f4")
    count = file.create_dataset("box_count", shape=(n,), dtype="i8")
    group = file.create_group("lens_params")
    names = lens_parameter_names(config)
    for name in names:
        group.create_dataset(name, shape=(n, k), dtype="f8")
    objects = []
    render = partial(render_chunk, config)
    for start, chunk in parallel_chunks(
        render, n, workers, CHUNK, "simulating lens fields", progress
    ):
        stop = start + len(chunk["clean"])
        clean[start:stop] = chunk["clean"]
        boxes[start:stop] = chunk["boxes"]
        count[start:stop] = chunk["box_count"]
        for name in names:
            group[name][start:stop] = chunk["lens_params"][name]
        objects.append(chunk["objects"])
    file.create_dataset("label", data=(count[...] > 0).astype(np.int64))
    table = np.concatenate(objects)
    table = table[np.argsort(table[:, 0], kind="stable")]
    columns = file.create_group("objects")
    for column, (name, dtype) in enumerate(
        zip(OBJECT_COLUMNS, ("i8", "f4", "f4", "i8"), strict=True)
    ):
        columns.create_dataset(name, data=table[:, column].astype(dtype))
    file.attrs["object_kinds"] = json.dumps(list(OBJECT_KINDS))


def simulate_lens_fields(
    config: LensFieldConfig, path: Path, workers: int = 0, progress: bool = True
) -> Path:
    """Render the fields and the PSF bank into HDF5 at `path`; a failure leaves no file behind.

    Args:
        config: What to simulate; results depend only on it, not on `workers`.
        path: Destination file, replaced atomically once complete.
        workers: Processes to use; 0 means min(cpu count, 8), 1 renders in this process.
        progress: Show a progress bar.
    """
    with atomic_h5(path) as file:
        write_header(file, config)
        write_psfs(file, config.survey())
        _write_fields(file, config, workers, progress)
    return Path(path)


def _check_open_file(file: h5py.File, config: LensFieldConfig | None) -> LensFieldConfig:
    """Return the stored config, or a reason why the file is unusable as a ValueError."""
    stored = read_header(file, LensFieldConfig, config)
    expected = config or stored
    n, k, size = expected.n_fields, expected.max_lenses, expected.field_size
    shapes = {
        "clean": (n, len(expected.bands), size, size),
        "boxes": (n, k, 4),
        "box_count": (n,),
        "label": (n,),
    } | psf_shapes(expected.survey())
    shapes |= {f"lens_params/{name}": (n, k) for name in lens_parameter_names(expected)}
    check_datasets(file, shapes)
    lengths = {len(file[f"objects/{name}"]) for name in OBJECT_COLUMNS if f"objects/{name}" in file}
    if len(lengths) != 1 or "objects/kind" not in file:
        raise ValueError("incomplete object table 'objects/'")
    # Reading the last field touches the end of the file, where truncation shows.
    _ = file["clean"][-1]
    return stored


def check_lens_fields_file(path: Path, config: LensFieldConfig | None = None) -> LensFieldConfig:
    """Return the config stored in a complete lens fields file, or raise a one-line DataError."""
    return check_h5(path, partial(_check_open_file, config=config), "lens fields file")


def cached_lens_fields(config: LensFieldConfig, workers: int = 0, progress: bool = True) -> Path:
    """Path of the fields file for `config`, simulated only if not already cached."""
    return cached_file(
        cache_dir() / f"lens-fields-{config.digest()}.h5",
        partial(check_lens_fields_file, config=config),
        lambda path: simulate_lens_fields(config, path, workers=workers, progress=progress),
    )
