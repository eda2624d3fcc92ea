"""Read user-provided high-resolution truth images as clean linear-flux galaxies."""

from __future__ import annotations

import logging
from pathlib import Path

import galsim
import h5py
import numpy as np
from astropy.io import fits

from galvision.data.intensity import check_display_range, magnitude_to_flux, to_flux
from galvision.data.pictures import decode_picture
from galvision.errors import ConfigError, DataError

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz")
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg")
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")
HDF5_DATASETS = ("images", "clean", "truth")
ENCODED_DATASETS = ("jpeg", "png")  # rows of encoded pictures, as Galaxy Zoo files keep them
# HST-like resolution: a deconvolved HST stamp has no power beyond the HST band limit, so it is
# redrawn through this Gaussian, far narrower than a survey pixel.
COSMOS_RESOLUTION = 0.1  # arcsec FWHM

Named = list[tuple[str, np.ndarray]]
log = logging.getLogger(__name__)


def load_truth(
    path: str | Path,
    bands: int,
    size: int,
    pixel_scale: float = 0.262,
    max_mag: float | None = None,
    flux_scale: float = 1.0,
    min_size: int = 1,
    magnify: float = 1.0,
) -> tuple[np.ndarray, list[str]]:
    """Load truth images as clean (N, bands, size, size) float32 nanomaggies/pixel and names.

    Accepted inputs:

    - A COSMOS HDF5 file (groups ``gal/`` and ``psf/``, datasets ``mag``, ``pixel_scale``,
      ``ident``): each HST galaxy is deconvolved by its own HST PSF, redrawn through a 0.1"
      FWHM Gaussian at ``pixel_scale`` (GalSim's RealGalaxy recipe), and scaled so that its
      total flux matches its catalogue magnitude. Every band gets the same image. ``max_mag``
      keeps galaxies brighter than that magnitude; ``magnify`` draws them that many times
      larger at the same surface brightness. Names are ``cosmos-<ident>``.
    - Any other HDF5 file: the first of the datasets ``images``, ``clean``, ``truth``, shaped
      (N, H, W), (N, C, H, W) or (N, H, W, C) (channels last when the last axis is at most 5
      and smaller than H), or a dataset ``jpeg`` or ``png`` of encoded pictures (Galaxy Zoo
      and Galaxy10 layouts), read as display space like a picture file. Names are
      ``<file stem>-<row>``.
    - A FITS file (primary HDU or first image HDU; 2-D is one band, 3-D is bands first).
    - A PNG or JPEG file: 8-bit values / 255 are read as display space and mapped to flux;
      colour channels are taken bluest first (B, G, R), matching bands ordered blue to red.
    - A folder of FITS, PNG and JPEG files, read in name order. Names are file stems.

    HDF5 and FITS pixels are taken as nanomaggies and multiplied by ``flux_scale``. Single-band
    images are repeated over ``bands``; any other band count that differs from ``bands`` is an
    error. Images larger than ``size`` are centre-cropped and smaller ones zero-padded (pixel
    H//2 lands on size//2, with a warning); only COSMOS stamps are resampled. Non-finite pixels,
    images mostly beyond the display range or smaller than ``min_size`` (the PSF footprint) on
    a side, unreadable files and empty folders raise `DataError`.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if _suffix(p) in FITS_SUFFIXES + PICTURE_SUFFIXES)
        if not files:
            raise DataError(f"{path}: no FITS, PNG or JPEG files in this folder")
    elif path.is_file():
        files = [path]
    else:
        raise DataError(f"{path}: no such file or folder")
    images, names, padded = [], [], 0
    for file in files:
        named = _read_checked(file, size, pixel_scale, max_mag, flux_scale, magnify)
        for name, image in named:
            source = str(file) if len(named) == 1 else f"{file} ({name})"
            check_display_range(image, source)
            _check_footprint(image, min_size, source)
            padded += min(image.shape[-2:]) < size
            images.append(_fit(_match_bands(image, bands, file), size))
            names.append(name)
    if not images:
        raise DataError(f"{path}: no galaxy brighter than max_mag={max_mag}")
    if padded:
        log.warning("%s: %d truth image(s) smaller than %d px zero-padded", path, padded, size)
    return np.stack(images).astype(np.float32, copy=False), names


def render_cosmos(
    file: str | Path,
    size: int,
    pixel_scale: float = 0.262,
    max_mag: float | None = None,
    magnify: float = 1.0,
) -> Named:
    """Render the galaxies of a COSMOS HDF5 file as (1, size, size) images named cosmos-<ident>.

    ``magnify`` draws each galaxy that many times larger at the same surface brightness.
    """
    rendered = []
    with h5py.File(file, "r") as f:
        keys = sorted(f["gal"])
        mags, idents, scales = f["mag"][()], f["ident"][()], f["pixel_scale"][()]
        for row, key in enumerate(keys):
            if max_mag is not None and mags[row] > max_mag:
                continue
            image = _render_galaxy(
                f["gal"][key][()], f["psf"][key][()], float(scales[row]), float(mags[row])
            ).drawImage(nx=size, ny=size, scale=pixel_scale / magnify, method="auto")
            rendered.append((f"cosmos-{int(idents[row])}", image.array[None] * magnify**2))
    return rendered


def _render_galaxy(
    stamp: np.ndarray, psf: np.ndarray, stamp_scale: float, mag: float
) -> galsim.GSObject:
    """The HST galaxy without its HST PSF, at HST-like resolution and catalogue flux."""
    original_psf = galsim.InterpolatedImage(
        galsim.Image(psf.astype(np.float64), scale=stamp_scale), flux=1.0
    )
    # Bounding stepk/maxk by the PSF's, as RealGalaxy does, keeps faint stamps well sampled.
    original_gal = galsim.InterpolatedImage(
        galsim.Image(stamp.astype(np.float64), scale=stamp_scale),
        calculate_stepk=original_psf.stepk,
        calculate_maxk=original_psf.maxk,
    )
    galaxy = galsim.Convolve(original_gal, galsim.Deconvolve(original_psf))
    resolution = galsim.Gaussian(fwhm=COSMOS_RESOLUTION)
    return galsim.Convolve(galaxy, resolution).withFlux(float(magnitude_to_flux(mag)))


def _read_checked(
    file: Path,
    size: int,
    pixel_scale: float,
    max_mag: float | None,
    flux_scale: float,
    magnify: float,
) -> Named:
    """Read one file into named (C, H, W) arrays, turning read failures into a DataError."""
    if not magnify > 0:
        raise ConfigError(f"magnify={magnify} must be positive")
    try:
        suffix = _suffix(file)
        if suffix in HDF5_SUFFIXES and _is_cosmos(file):
            named = render_cosmos(file, size, pixel_scale, max_mag, magnify)
        elif max_mag is not None:
            raise ConfigError(f"{file}: max_mag needs a COSMOS file; this one has no magnitudes")
        elif magnify != 1:
            raise ConfigError(
                f"{file}: magnify needs a COSMOS file; other truth images are never resampled"
            )
        elif suffix in HDF5_SUFFIXES:
            named = _read_hdf5(file, flux_scale)
        elif suffix in FITS_SUFFIXES:
            named = _read_fits(file, flux_scale)
        elif suffix in PICTURE_SUFFIXES:
            named = _read_picture(file)
        else:
            raise DataError(f"{file}: unsupported file type (use HDF5, FITS, PNG or JPEG)")
    except (DataError, ConfigError):
        raise
    except (OSError, ValueError, TypeError, KeyError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{file}: unreadable or corrupt ({reason})") from exc
    bad = sum(int(np.count_nonzero(~np.isfinite(image))) for _, image in named)
    if bad:
        raise DataError(f"{file}: {bad} non-finite pixels")
    return named


def _is_cosmos(file: Path) -> bool:
    """Whether an HDF5 file has the COSMOS layout."""
    with h5py.File(file, "r") as f:
        return all(key in f for key in ("gal", "psf", "mag"))


def _read_hdf5(file: Path, flux_scale: float) -> Named:
    """Rows of the first truth dataset of a plain HDF5 file, as (C, H, W) arrays."""
    with h5py.File(file, "r") as f:
        encoded = next((k for k in ENCODED_DATASETS if isinstance(f.get(k), h5py.Dataset)), None)
        if encoded is not None:
            return [
                (f"{file.stem}-{row}", np.asarray(to_flux(decode_picture(data.tobytes()))))
                for row, data in enumerate(f[encoded])
            ]
        key = next((k for k in HDF5_DATASETS if isinstance(f.get(k), h5py.Dataset)), None)
        if key is None:
            raise DataError(
                f"{file}: no dataset named {', '.join(HDF5_DATASETS + ENCODED_DATASETS)} "
                "and not a COSMOS file"
            )
        data = np.asarray(f[key][()], dtype=np.float32)
    if data.ndim == 3:
        data = data[:, None]
    elif data.ndim == 4 and data.shape[-1] <= 5 and data.shape[-1] < data.shape[1]:
        data = np.moveaxis(data, -1, 1)
    elif data.ndim != 4:
        raise DataError(
            f"{file}: dataset {key!r} has shape {data.shape}; "
            "expected (N, H, W), (N, C, H, W) or (N, H, W, C)"
        )
    return [(f"{file.stem}-{row}", image * flux_scale) for row, image in enumerate(data)]


def _read_fits(file: Path, flux_scale: float) -> Named:
    """The primary or first image HDU of a FITS file as a (C, H, W) array."""
    with fits.open(file, memmap=False) as hdus:
        data = next((h.data for h in hdus if h.is_image and h.data is not None), None)
        data = None if data is None else np.asarray(data, dtype=np.float32)
    if data is None or data.ndim not in (2, 3):
        shape = None if data is None else data.shape
        raise DataError(f"{file}: no 2-D or 3-D image HDU (found {shape})")
    image = data[None] if data.ndim == 2 else data
    return [(_stem(file), image * flux_scale)]


def _read_picture(file: Path) -> Named:
    """A PNG or JPEG as display-space values mapped to flux, bluest channel first."""
    return [(_stem(file), np.asarray(to_flux(decode_picture(file)), dtype=np.float32))]


def _check_footprint(image: np.ndarray, min_size: int, source: str) -> None:
    """Refuse a truth image too small to hold the PSF that blurs it."""
    height, width = image.shape[-2:]
    if min(height, width) < min_size:
        raise DataError(
            f"{source}: {height}×{width} pixels, smaller than the {min_size}×{min_size} PSF "
            "footprint; a truth image must cover it"
        )


def _match_bands(image: np.ndarray, bands: int, file: Path) -> np.ndarray:
    """Repeat a single band over ``bands``; refuse any other mismatch."""
    if image.shape[0] == bands:
        return image
    if image.shape[0] == 1:
        return np.repeat(image, bands, axis=0)
    raise DataError(
        f"{file}: {image.shape[0]} bands but the model takes {bands} "
        "(only single-band images are repeated)"
    )


def _fit(image: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop or zero-pad a (C, H, W) image to (C, size, size)."""
    out = np.zeros((image.shape[0], size, size), dtype=np.float32)
    (src_y, dst_y, rows), (src_x, dst_x, cols) = (_overlap(n, size) for n in image.shape[-2:])
    out[:, dst_y : dst_y + rows, dst_x : dst_x + cols] = image[
        :, src_y : src_y + rows, src_x : src_x + cols
    ]
    return out


def _overlap(length: int, size: int) -> tuple[int, int, int]:
    """Source start, destination start and count that put index length//2 on size//2."""
    offset = size // 2 - length // 2
    src, dst = max(0, -offset), max(0, offset)
    return src, dst, min(length - src, size - dst)


def _suffix(file: Path) -> str:
    """Lower-case suffix, keeping ``.fits.gz`` whole."""
    name = file.name.lower()
    return ".fits.gz" if name.endswith(".fits.gz") else file.suffix.lower()


def _stem(file: Path) -> str:
    """File name without its (possibly double) suffix."""
    return file.name[: len(file.name) - len(_suffix(file))]
