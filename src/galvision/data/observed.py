"""Observed galaxy images from FITS, PNG/JPEG or HDF5 files, validated for prediction.

FITS and HDF5 pixels are linear flux, multiplied by ``flux_scale`` to give nanomaggies per pixel.
PNG/JPEG pixels are display space and their RGB channels are the bands reversed (z, r, g), the
convention of the restoration previews, so a preview reads back as the bands it shows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from astropy.io import fits
from torch.utils.data import DataLoader, Dataset

from galvision.data.datamodules import GalaxyDataModule
from galvision.data.intensity import check_display_range, to_display, to_flux
from galvision.data.keys import HEADER, IMAGE, INDEX, NAME, PSF_FWHM, SOURCE
from galvision.data.pictures import decode_picture
from galvision.errors import ConfigError, DataError

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz")
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg")
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")
SUFFIXES = (*FITS_SUFFIXES, *PICTURE_SUFFIXES, *HDF5_SUFFIXES)
FWHM_KEYWORDS = ("PSF_FWHM", "FWHM", "SEEING", "PSFFWHM")
HDF5_DATASETS = ("images", "image", "observed")
HDF5_FWHM_ATTR = "psf_fwhm"


@dataclass(frozen=True)
class ObservedImage:
    """One observed image: (C, H, W) float32 flux in nanomaggies, its PSF FWHM, name and header."""

    flux: np.ndarray
    psf_fwhm: float | None
    name: str
    source: str  # file, or file[row] for HDF5 stacks, to name the culprit in errors
    bad_fwhm: str | None = None  # a PSF FWHM given in the file that is not a valid value
    header: str = ""  # the FITS header of the image HDU as text, so outputs keep WCS and keywords


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return next((suffix for suffix in SUFFIXES if name.endswith(suffix)), "")


def _stem(path: Path) -> str:
    return path.name[: len(path.name) - len(_suffix(path))]


def _fwhm(value: Any) -> float | None:
    if isinstance(value, bool):  # FITS T/F is no width
        return None
    try:
        fwhm = float(value)
    except (TypeError, ValueError):
        return None
    return fwhm if math.isfinite(fwhm) and fwhm > 0 else None


def _recorded_fwhm(recorded: Iterable[tuple[str, Any]]) -> tuple[float | None, str | None]:
    """The first valid of the (name, value) FWHMs a file records, else what was invalid."""
    given = [(name, value) for name, value in recorded if value is not None and value != ""]
    valid = next((f for f in (_fwhm(value) for _, value in given) if f is not None), None)
    if valid is not None or not given:
        return valid, None
    name, value = given[0]
    value = value.item() if isinstance(value, np.generic) else value
    return None, f"{name}={value!r} is not a positive number of arcsec"


def _as_bands(array: np.ndarray, what: str) -> np.ndarray:
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3:
        raise ValueError(f"{what} has shape {array.shape}, expected (H, W) or (bands, H, W)")
    return np.ascontiguousarray(array, dtype=np.float32)


def _read_fits(path: Path, flux_scale: float) -> Iterator[ObservedImage]:
    with fits.open(path, memmap=False) as hdus:
        hdu = next((h for h in hdus if h.is_image and h.data is not None), None)
        if hdu is None:
            raise ValueError("no image HDU with data")
        flux = _as_bands(np.asarray(hdu.data), "image data") * np.float32(flux_scale)
        headers = (hdu.header, hdus[0].header)
        recorded = ((f"header {key}", h.get(key)) for key in FWHM_KEYWORDS for h in headers)
        fwhm, bad = _recorded_fwhm(recorded)
        header = hdu.header.tostring()
    yield ObservedImage(flux, fwhm, _stem(path), str(path), bad, header)


def _read_picture(path: Path) -> Iterator[ObservedImage]:
    bands = decode_picture(path)
    yield ObservedImage(_as_bands(to_flux(bands), "picture"), None, _stem(path), str(path))


def _read_hdf5(path: Path, flux_scale: float) -> Iterator[ObservedImage]:
    with h5py.File(path, "r") as file:
        key = next((k for k in HDF5_DATASETS if isinstance(file.get(k), h5py.Dataset)), None)
        if key is None:
            raise ValueError(f"no dataset named {' or '.join(HDF5_DATASETS)}")
        data = file[key]
        stack = data[()][None] if data.ndim == 2 else data
        attr = data.attrs.get(HDF5_FWHM_ATTR, file.attrs.get(HDF5_FWHM_ATTR))
        fwhms = np.broadcast_to(np.asarray(attr, dtype=object), len(stack))
        for i in range(len(stack)):
            flux = _as_bands(np.asarray(stack[i]), f"{key}[{i}]") * np.float32(flux_scale)
            fwhm, bad = _recorded_fwhm([(f"attribute {HDF5_FWHM_ATTR}", fwhms[i])])
            yield ObservedImage(flux, fwhm, f"{_stem(path)}-{i}", f"{path}[{i}]", bad)


def iter_observed(path: Path, flux_scale: float = 1.0) -> Iterator[ObservedImage]:
    """Yield every image of one FITS, PNG/JPEG or HDF5 file; HDF5 stacks (N, C, H, W) give N."""
    suffix = _suffix(path)
    if not suffix:
        raise DataError(f"{path}: unsupported file type (expected FITS, PNG/JPEG or HDF5)")
    try:
        if suffix in FITS_SUFFIXES:
            yield from _read_fits(path, flux_scale)
        elif suffix in PICTURE_SUFFIXES:
            yield from _read_picture(path)
        else:
            yield from _read_hdf5(path, flux_scale)
    except DataError:
        raise
    except Exception as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise DataError(f"{path}: cannot read the file ({reason})") from err


def read_observed(path: Path, flux_scale: float = 1.0) -> tuple[np.ndarray, float | None, str]:
    """Read a one-image file as ((C, H, W) float32 flux in nanomaggies, PSF FWHM or None, name)."""
    images = list(iter_observed(path, flux_scale))
    if len(images) != 1:
        raise DataError(f"{path}: holds {len(images)} images; read it with iter_observed")
    return images[0].flux, images[0].psf_fwhm, images[0].name


def observed_files(path: Path) -> list[Path]:
    """The readable files at ``path``: the file itself, or a folder's files, sorted."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"{path}: no such file or folder")
    files = sorted(p for p in path.iterdir() if p.is_file() and _suffix(p))
    if not files:
        raise DataError(f"{path}: folder holds no FITS, PNG/JPEG or HDF5 files")
    return files


def safe_name(name: str) -> str:
    """``name`` with the characters a file name should not hold replaced."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", name).lstrip("._-")[:150] or "image"


def unique_name(name: str, taken: set[str]) -> str:
    """``name`` made safe as a file name and distinct from ``taken`` (updated, case-insensitive)."""
    base = safe_name(name)
    unique, n = base, 1
    while unique.lower() in taken:
        n += 1
        unique = f"{base}-{n}"
    taken.add(unique.lower())
    return unique


def unique_names(names: Sequence[str]) -> list[str]:
    """Safe, distinct file names for ``names``: one already safe and unused keeps itself.

    Safe names are kept before any other is changed, so an output named after an input's
    name always comes from that input (``a b`` becomes ``a_b-2`` when ``a_b`` exists too).
    """
    taken: set[str] = set()
    kept: dict[int, str] = {}
    for i, name in enumerate(names):
        if safe_name(name) == name and name.lower() not in taken:
            taken.add(name.lower())
            kept[i] = name
    return [kept.get(i) or unique_name(name, taken) for i, name in enumerate(names)]


def _check(image: ObservedImage, bands: int, size: int) -> None:
    channels, height, width = image.flux.shape
    if channels != bands:
        raise DataError(f"{image.source}: {channels} band(s), the model expects {bands}")
    if (height, width) != (size, size):
        raise DataError(
            f"{image.source}: image is {height}×{width}, the model expects {size}×{size}"
            " (crop or resample it first)"
        )
    bad = int(image.flux.size - np.isfinite(image.flux).sum())
    if bad:
        raise DataError(f"{image.source}: {bad} NaN/inf pixels; mask or inpaint them first")
    check_display_range(image.flux, image.source)


class ObservedImagesDataset(Dataset):
    """Observed images of a file or folder, all read and validated on construction."""

    def __init__(
        self,
        path: str | Path,
        psf_fwhm: float | None = None,
        bands: int = 3,
        size: int = 64,
        flux_scale: float = 1.0,
    ) -> None:
        if psf_fwhm is not None and _fwhm(psf_fwhm) is None:
            raise ConfigError(f"data.psf_fwhm must be a positive number of arcsec, got {psf_fwhm}")
        self.images: list[np.ndarray] = []
        self.psf_fwhms: list[float] = []
        self.headers: list[str] = []
        self.sources: list[str] = []
        names: list[str] = []
        for file in observed_files(Path(path)):
            for image in iter_observed(file, flux_scale):
                _check(image, bands, size)
                fwhm = psf_fwhm if psf_fwhm is not None else image.psf_fwhm
                if fwhm is None and image.bad_fwhm:
                    raise DataError(
                        f"{image.source}: {image.bad_fwhm}; fix it or pass --data.psf_fwhm"
                    )
                if fwhm is None:
                    raise DataError(
                        f"{image.source}: no PSF FWHM in the header (PSF_FWHM/FWHM/SEEING);"
                        " pass --data.psf_fwhm"
                    )
                self.images.append(to_display(image.flux).astype(np.float32))
                self.psf_fwhms.append(float(fwhm))
                self.sources.append(Path(image.source).name)
                self.headers.append(image.header)
                names.append(image.name)
        self.names = unique_names(names)
        if not self.images:
            raise DataError(f"{path}: holds no images")

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {
            IMAGE: torch.from_numpy(self.images[index]),
            PSF_FWHM: torch.tensor(self.psf_fwhms[index], dtype=torch.float32),
            NAME: self.names[index],
            HEADER: self.headers[index],
            SOURCE: self.sources[index],
            INDEX: index,
        }


class ObservedImagesDataModule(GalaxyDataModule):
    """A user's observed images (file or folder) to restore with ``galvision predict``."""

    def __init__(
        self,
        path: str,
        psf_fwhm: float | None = None,
        bands: int = 3,
        size: int = 64,
        flux_scale: float = 1.0,
        batch_size: int = 32,
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers)
        self.bands = bands
        self.size = size
        # Read now so a bad file is reported before the model is built or restored.
        self.datasets["predict"] = ObservedImagesDataset(path, psf_fwhm, bands, size, flux_scale)

    @property
    def num_bands(self) -> int:
        """Bands of every image, checked against the backbone."""
        return self.bands

    @property
    def image_size(self) -> int:
        """Side in pixels of every image, checked against the backbone."""
        return self.size

    def predict_dataloader(self) -> DataLoader:
        """Batches in file order, names and FITS headers kept as lists of str."""
        return self._loader("predict")
