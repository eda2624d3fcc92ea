"""Labelled galaxy images for classification from Galaxy10 HDF5 and encoded-picture HDF5 files.

Every reader serves ``{IMAGE, LABEL, NAME, INDEX}`` samples with display-space (bands, size, size)
float32 images; `galvision.data.csv_catalogues` adds readers of CSV-listed files. 8-bit pictures
are display space already (values / 255); colour channels are stored R, G, B and read reversed,
bluest band first (the z, r, g preview convention).

Resize rule, shared by every reader: take the central square of side ``min(H, W)``, keep its
central ``crop_fraction`` (e.g. 0.5 keeps the central 128 px of a 256-px Galaxy10 DECaLS cutout),
then resample to ``size``: pixel areas are averaged when shrinking (antialiased, an exact block
mean for integer factors, PIL's box filter), bilinear when enlarging.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from galvision.data.keys import IMAGE, INDEX, LABEL, NAME, VOTES
from galvision.data.pictures import channels_last_to_bands, decode_picture
from galvision.errors import ConfigError, DataError

GALAXY10_DECALS_CLASSES = (
    "disturbed",
    "merging",
    "round_smooth",
    "in_between_round_smooth",
    "cigar_shaped_smooth",
    "barred_spiral",
    "unbarred_tight_spiral",
    "unbarred_loose_spiral",
    "edge_on_without_bulge",
    "edge_on_with_bulge",
)


class LabelledImageDataset(Dataset):
    """Labelled display-space images; subclasses set the attributes below in ``__init__``."""

    labels: np.ndarray  # (N,) int64 class indices into class_names
    names: list[str]
    class_names: list[str]
    bands: int
    size: int
    images: torch.Tensor  # (N, bands, size, size), for readers that decode everything up front
    votes: np.ndarray | None = None  # (N, classes) volunteers' vote counts, where a reader has them

    def __len__(self) -> int:
        return len(self.labels)

    def image(self, index: int) -> torch.Tensor:
        """The (bands, size, size) display-space image of one sample."""
        return self.images[index]

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = {
            IMAGE: self.image(index),
            LABEL: torch.tensor(int(self.labels[index]), dtype=torch.int64),
            NAME: self.names[index],
            INDEX: index,
        }
        if self.votes is not None:
            sample[VOTES] = torch.from_numpy(self.votes[index])
        return sample


@contextmanager
def reading(what: str) -> Iterator[None]:
    """Turn any failure while reading ``what`` into a one-line DataError naming it."""
    try:
        yield
    except (DataError, ConfigError):
        raise
    except Exception as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise DataError(f"{what}: cannot read ({reason})") from err


def check_crop_fraction(crop_fraction: float) -> None:
    """Refuse a crop fraction outside (0, 1]."""
    if not 0 < crop_fraction <= 1:
        raise ConfigError(f"data: crop_fraction must be in (0, 1], got {crop_fraction}")


def fit_to_size(image: np.ndarray, size: int, crop_fraction: float = 1.0) -> torch.Tensor:
    """Apply the module's resize rule to a (C, H, W) array, giving (C, size, size) float32."""
    height, width = image.shape[-2:]
    side = max(1, round(min(height, width) * crop_fraction))
    top, left = (height - side) // 2, (width - side) // 2
    crop = np.asarray(image[:, top : top + side, left : left + side], dtype=np.float32)
    if side != size:
        # PIL rather than torch: torch's intra-op threads make per-image resizes slow on busy CPUs.
        resample = Image.Resampling.BOX if side > size else Image.Resampling.BILINEAR
        crop = np.stack(
            [np.asarray(Image.fromarray(band).resize((size, size), resample)) for band in crop]
        )
    return torch.from_numpy(np.ascontiguousarray(crop))


def load_picture(
    source: Path | bytes, bands: int, size: int, crop_fraction: float, where: str
) -> torch.Tensor:
    """Decode, check the band count of, and resize one picture; ``where`` names it in errors."""
    with reading(where):
        image = decode_picture(source)
    check_bands(image, bands, where)
    return fit_to_size(image, size, crop_fraction)


def check_bands(image: np.ndarray, bands: int, where: str) -> None:
    """Refuse an image whose band count differs from ``bands``."""
    if image.shape[0] != bands:
        raise DataError(f"{where}: {image.shape[0]} band(s), expected bands={bands}")


def check_labels(labels: np.ndarray, class_names: Sequence[str], where: str) -> np.ndarray:
    """Labels as int64, refusing any outside [0, number of classes); ``where`` names the file."""
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    bad = np.flatnonzero((labels < 0) | (labels >= len(class_names)))
    if bad.size:
        raise DataError(
            f"{where}[{bad[0]}]: label {labels[bad[0]]} out of range for "
            f"{len(class_names)} classes ({', '.join(class_names)})"
        )
    return labels


def default_class_names(labels: np.ndarray, classes: Sequence[str] | None) -> list[str]:
    """``classes`` when given, else "0", "1", ... up to the largest label."""
    if classes is not None:
        return list(classes)
    return [str(i) for i in range(int(np.max(labels, initial=-1)) + 1)]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Galaxy10Dataset(LabelledImageDataset):
    """Galaxy10 HDF5 (``images`` N×H×W×C uint8, ``ans`` labels), rows read lazily.

    Args:
        path: the HDF5 file (Galaxy10 DECaLS or SDSS layout, any H, W and C).
        size: side of the served images.
        bands: expected channel count C.
        indices: rows to serve (default all).
        crop_fraction: central fraction kept before resizing (0.5 for 256-px DECaLS cutouts).
        classes: class names; default the Galaxy10 DECaLS names (pass them for Galaxy10 SDSS).
    """

    def __init__(
        self,
        path: str | Path,
        size: int = 64,
        bands: int = 3,
        indices: list[int] | None = None,
        crop_fraction: float = 1.0,
        classes: list[str] | None = None,
    ) -> None:
        check_crop_fraction(crop_fraction)
        self.path, self.size, self.bands = Path(path), size, bands
        self.crop_fraction = crop_fraction
        self.class_names = list(classes or GALAXY10_DECALS_CLASSES)
        with reading(str(self.path)), h5py.File(self.path, "r") as file:
            if "images" not in file or "ans" not in file:
                raise DataError(f"{self.path}: no 'images' and 'ans' datasets (Galaxy10 layout)")
            images, labels = file["images"], file["ans"][()]
            if images.ndim != 4 or images.dtype != np.uint8 or not 0 < len(labels) == len(images):
                raise DataError(
                    f"{self.path}: 'images' is {images.dtype} {images.shape} with {len(labels)} "
                    "labels; expected uint8 (N ≥ 1, H, W, C) and one label per image"
                )
            if images.shape[-1] != bands:
                raise DataError(f"{self.path}: {images.shape[-1]} band(s), expected bands={bands}")
        rows = np.arange(len(labels)) if indices is None else np.asarray(indices, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= len(labels)):
            raise ConfigError(f"{self.path}: indices must lie in [0, {len(labels)})")
        self.rows = rows
        self.labels = check_labels(labels, self.class_names, f"{self.path}:ans")[rows]
        self.names = [f"{self.path.stem}-{row}" for row in rows]
        self._file: h5py.File | None = None
        self._pid = os.getpid()

    def image(self, index: int) -> torch.Tensor:
        # One handle per process: h5py handles do not survive a fork into loader workers.
        if self._file is None or self._pid != os.getpid():
            self._file, self._pid = h5py.File(self.path, "r"), os.getpid()
        pixels = self._file["images"][int(self.rows[index])]
        return fit_to_size(
            channels_last_to_bands(pixels / np.float32(255)), self.size, self.crop_fraction
        )

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_file": None}


class EncodedImageHDF5Dataset(LabelledImageDataset):
    """HDF5 of encoded JPEG/PNG bytes (e.g. ``gz1_sdss_subset.h5``), decoded on construction.

    Class names come from ``classes``, else the ``label_names`` attribute of the file or of the
    label dataset. Names are the ``name_key`` values (e.g. SDSS objid) when that dataset exists.
    """

    def __init__(
        self,
        path: str | Path,
        size: int,
        bands: int = 3,
        image_key: str = "jpeg",
        label_key: str = "label",
        crop_fraction: float = 1.0,
        classes: list[str] | None = None,
        name_key: str = "objid",
    ) -> None:
        check_crop_fraction(crop_fraction)
        self.path, self.size, self.bands = Path(path), size, bands
        with reading(str(self.path)), h5py.File(self.path, "r") as file:
            for key in (image_key, label_key):
                if key not in file:
                    raise DataError(f"{self.path}: no dataset {key!r}")
            encoded, labels = file[image_key][()], file[label_key][()]
            stored = file.attrs.get("label_names", file[label_key].attrs.get("label_names"))
            ids = file[name_key][()] if name_key in file else np.arange(len(encoded))
        if len(labels) != len(encoded) or not len(encoded):
            raise DataError(f"{self.path}: {len(encoded)} images and {len(labels)} labels")
        names = classes if classes is not None else stored
        self.class_names = default_class_names(
            labels, None if names is None else list(map(_text, names))
        )
        self.labels = check_labels(labels, self.class_names, f"{self.path}:{label_key}")
        self.names = [f"{self.path.stem}-{i}" for i in ids]
        self.images = torch.stack(
            [
                load_picture(
                    np.asarray(data).tobytes(), bands, size, crop_fraction, f"{path}[{row}]"
                )
                for row, data in enumerate(encoded)
            ]
        )


class MergedClassesDataset(LabelledImageDataset):
    """Another reader's catalogue with classes renamed, merged or dropped.

    ``merge`` maps old class names to new ones; several old names may share a new one (e.g.
    Galaxy Zoo's ``spiral_cw`` and ``spiral_acw`` into ``spiral``) and ``null`` drops a class
    (e.g. ``dont_know``). Classes not named keep their name. New classes are numbered in the
    order they first appear among the old classes.
    """

    def __init__(self, dataset: LabelledImageDataset, merge: dict[str, str | None]) -> None:
        unknown = sorted(set(merge) - set(dataset.class_names))
        if unknown:
            raise ConfigError(
                f"data.merge: unknown class(es) {unknown}; the catalogue has "
                f"{', '.join(dataset.class_names)}"
            )
        renamed = [merge.get(name, name) for name in dataset.class_names]
        self.class_names = list(dict.fromkeys(name for name in renamed if name is not None))
        new_label = np.array([-1 if n is None else self.class_names.index(n) for n in renamed])
        self.dataset = dataset
        self.rows = np.flatnonzero(new_label[dataset.labels] >= 0)
        if not len(self.rows):
            raise DataError("data.merge drops every example of the catalogue")
        self.labels = new_label[dataset.labels[self.rows]]
        self.names = [dataset.names[row] for row in self.rows]
        self.bands, self.size = dataset.bands, dataset.size

    def image(self, index: int) -> torch.Tensor:
        return self.dataset.image(int(self.rows[index]))
