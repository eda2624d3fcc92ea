"""Labelled FITS or PNG/JPEG cutouts listed in a CSV catalogue (``path,label[,...]``).

Paths are relative to the CSV's folder unless absolute. Labels are class indices, or class names
when ``classes`` is given (``classes`` also fixes the class order). ``vote_columns`` name one
column of volunteers' vote counts per class, in class order (Galaxy Zoo catalogues), served as
``votes`` for ``ClassificationTask(vote_weight=...)``. Errors name the CSV line. Images follow
the resize rule of `galvision.data.catalogues`.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from astropy.io import fits

from galvision.data.catalogues import (
    LabelledImageDataset,
    check_bands,
    check_crop_fraction,
    default_class_names,
    fit_to_size,
    load_picture,
    reading,
)
from galvision.data.intensity import check_display_range, to_display
from galvision.data.observed import unique_names
from galvision.errors import ConfigError, DataError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatalogueEntry:
    """One catalogue row: its files (one, or one per band), class index and CSV line."""

    files: list[Path]
    label: int
    where: str
    votes: tuple[float, ...] = ()


def parse_label(value: str | None, classes: Sequence[str] | None, where: str) -> int:
    """A class index from a label cell holding an index or, with ``classes``, a class name."""
    text = (value or "").strip()
    if classes is not None and text in classes:
        return list(classes).index(text)
    try:
        label = int(text)
    except ValueError:
        if classes is None:
            raise DataError(
                f"{where}: label {text!r} is not a class index; pass classes to use class names"
            ) from None
        raise DataError(
            f"{where}: unknown class {text!r} (classes: {', '.join(classes)})"
        ) from None
    if label < 0 or (classes is not None and label >= len(classes)):
        raise DataError(f"{where}: label {label} out of range for classes {list(classes or [])}")
    return label


def parse_votes(row: dict, columns: Sequence[str], where: str) -> tuple[float, ...]:
    """Vote counts of one row: finite, non-negative numbers in the ``columns`` cells."""
    votes = []
    for column in columns:
        text = (row.get(column) or "").strip()
        try:
            count = float(text)
        except ValueError:
            raise DataError(f"{where}: {column}={text!r} is not a vote count") from None
        if not count >= 0 or count == float("inf"):
            raise DataError(f"{where}: {column}={text!r} is not a vote count")
        votes.append(count)
    return tuple(votes)


def read_catalogue(
    catalogue_csv: str | Path,
    path_columns: Sequence[str],
    label_column: str,
    classes: Sequence[str] | None,
    vote_columns: Sequence[str] = (),
) -> tuple[list[CatalogueEntry], list[str]]:
    """The rows of a CSV catalogue with resolved files and class indices, and the class names."""
    path = Path(catalogue_csv)
    entries = []
    # utf-8-sig drops the byte-order mark Excel starts its CSV files with.
    with reading(str(path)), path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        repeated = sorted({column for column in columns if columns.count(column) > 1})
        if repeated:
            raise DataError(f"{path}: column {', '.join(repeated)} appears twice in the header")
        missing = [c for c in (*path_columns, label_column, *vote_columns) if c not in columns]
        if columns and missing:
            raise DataError(f"{path}: no column {', '.join(missing)} (has {', '.join(columns)})")
        for row in reader:
            where = f"{path} line {reader.line_num}"
            cells = [(row.get(column) or "").strip() for column in path_columns]
            if not all(cells):
                raise DataError(f"{where}: empty {' or '.join(path_columns)} cell")
            files = [path.parent / Path(cell).expanduser() for cell in cells]
            label = parse_label(row[label_column], classes, where)
            entries.append(
                CatalogueEntry(files, label, where, parse_votes(row, vote_columns, where))
            )
    if not entries:
        raise DataError(f"{path}: empty catalogue (no rows below a header)")
    names = default_class_names(np.array([e.label for e in entries]), classes)
    if vote_columns and len(vote_columns) != len(names):
        raise ConfigError(
            f"data.vote_columns: {len(vote_columns)} columns for {len(names)} classes "
            f"({', '.join(names)}); give one per class, in class order"
        )
    return entries, names


def catalogue_votes(entries: Sequence[CatalogueEntry]) -> np.ndarray | None:
    """(N, classes) float32 vote counts of the entries, or None when the catalogue has none."""
    if not entries[0].votes:
        return None
    return np.array([entry.votes for entry in entries], dtype=np.float32)


class ImageFolderCatalogueDataset(LabelledImageDataset):
    """PNG/JPEG files listed in a CSV with their labels, decoded on construction."""

    def __init__(
        self,
        catalogue_csv: str | Path,
        size: int,
        bands: int = 3,
        label_column: str = "label",
        path_column: str = "path",
        classes: list[str] | None = None,
        crop_fraction: float = 1.0,
        vote_columns: list[str] | None = None,
    ) -> None:
        check_crop_fraction(crop_fraction)
        self.size, self.bands = size, bands
        entries, self.class_names = read_catalogue(
            catalogue_csv, [path_column], label_column, classes, vote_columns or ()
        )
        self.votes = catalogue_votes(entries)
        self.images = torch.stack(
            [
                load_picture(e.files[0], bands, size, crop_fraction, f"{e.where}: {e.files[0]}")
                for e in entries
            ]
        )
        self.labels = np.array([entry.label for entry in entries], dtype=np.int64)
        self.names = unique_names([_stem(entry.files[0]) for entry in entries])


class FitsCatalogueDataset(LabelledImageDataset):
    """FITS cutouts (linear flux) listed in a CSV with their labels, read on construction.

    A row's ``path_column`` file holds its bands as one image HDU per band (in HDU order) or as
    one 3-D (bands, H, W) image; a 2-D image is one band. With a list of columns, e.g.
    ``[path_g, path_r, path_z]``, each column names a single-band file, bands in list order.
    Pixels times ``flux_scale`` (one number, or one per band) are nanomaggies; they are resized
    as flux (so area averaging keeps surface brightness) and then mapped by ``to_display``.
    NaN/inf pixels become 0 (one warning with the count) or, with ``nan_policy="raise"``, an error.
    """

    def __init__(
        self,
        catalogue_csv: str | Path,
        size: int,
        bands: int,
        label_column: str = "label",
        path_column: str | list[str] = "path",
        classes: list[str] | None = None,
        flux_scale: float | list[float] = 1.0,
        crop_fraction: float = 1.0,
        nan_policy: Literal["zero", "raise"] = "zero",
        vote_columns: list[str] | None = None,
    ) -> None:
        check_crop_fraction(crop_fraction)
        scale = np.asarray(flux_scale, dtype=np.float32).reshape(-1, 1, 1)
        if len(scale) not in (1, bands):
            raise ConfigError(f"data: flux_scale has {len(scale)} entries for bands={bands}")
        columns = [path_column] if isinstance(path_column, str) else list(path_column)
        self.size, self.bands = size, bands
        entries, self.class_names = read_catalogue(
            catalogue_csv, columns, label_column, classes, vote_columns or ()
        )
        self.votes = catalogue_votes(entries)
        images, replaced, touched = [], 0, 0
        for entry in entries:
            flux = _read_bands(entry, bands) * scale
            bad = ~np.isfinite(flux)
            if bad.any():
                if nan_policy == "raise":
                    raise DataError(f"{entry.where}: {entry.files[0]}: {bad.sum()} NaN/inf pixels")
                flux[bad] = 0.0
                replaced, touched = replaced + int(bad.sum()), touched + 1
            check_display_range(flux, f"{entry.where}: {entry.files[0]}")
            images.append(to_display(fit_to_size(flux, size, crop_fraction)))
        if replaced:
            log.warning(
                "%s: replaced %d NaN/inf pixels by 0 in %d image(s)",
                catalogue_csv,
                replaced,
                touched,
            )
        self.images = torch.stack(images)
        self.labels = np.array([entry.label for entry in entries], dtype=np.int64)
        self.names = unique_names([_stem(entry.files[0]) for entry in entries])


def _read_bands(entry: CatalogueEntry, bands: int) -> np.ndarray:
    """The (bands, H, W) float32 flux of one catalogue row."""
    cubes = [_read_fits(file, f"{entry.where}: {file}") for file in entry.files]
    if len(cubes) > 1:
        for file, cube in zip(entry.files, cubes, strict=True):
            check_bands(cube, 1, f"{entry.where}: {file}")
        if len({cube.shape for cube in cubes}) > 1:
            raise DataError(f"{entry.where}: the band files differ in shape")
    flux = np.concatenate(cubes)
    check_bands(flux, bands, f"{entry.where}: {entry.files[0]}")
    return flux


def _read_fits(file: Path, where: str) -> np.ndarray:
    """A FITS file's image HDUs with data as (bands, H, W): one 3-D image or 2-D ones stacked."""
    with reading(where), fits.open(file, memmap=False) as hdus:
        arrays = [np.asarray(h.data, np.float32) for h in hdus if h.is_image and h.data is not None]
    if len(arrays) == 1 and arrays[0].ndim in (2, 3):
        return arrays[0] if arrays[0].ndim == 3 else arrays[0][None]
    if len(arrays) > 1 and all(a.ndim == 2 and a.shape == arrays[0].shape for a in arrays):
        return np.stack(arrays)
    shapes = ", ".join(str(a.shape) for a in arrays) or "none"
    raise DataError(
        f"{where}: image HDUs with data have shapes {shapes}; expected one 2-D image per band "
        "or one (bands, H, W) image"
    )


def _stem(file: Path) -> str:
    return file.name.split(".")[0]
