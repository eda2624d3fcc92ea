"""Write restored images in linear flux (FITS or HDF5) with side-by-side PNG previews."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import h5py
import lightning as L
import numpy as np
from astropy.io import fits
from PIL import Image

from galvision.callbacks.writing import (
    PREVIEW_SIZE,
    PredictionWriter,
    as_numpy,
    atomic_path,
    fits_text,
    prediction_field,
    sample_names,
    write_manifest,
)
from galvision.data.intensity import to_flux
from galvision.data.keys import HEADER, IMAGE, NAME, PSF_FWHM, SOURCE
from galvision.data.observed import unique_name
from galvision.errors import ConfigError
from galvision.plotting import display_rgb

RESTORED = "restored"
# World coordinates (with an alternate-WCS letter) and SIP distortion terms.
WCS_KEYWORD = re.compile(
    r"^(WCSAXES|WCSNAME|CRPIX\d|CRVAL\d|CDELT\d|CTYPE\d|CUNIT\d|CROTA\d|CRDER\d|CSYER\d"
    r"|CD\d_\d|PC\d_\d|PV\d_\d+|PS\d_\d+|LONPOLE|LATPOLE|RADESYS|RADECSYS|EQUINOX|EPOCH)[A-Z]?$"
    r"|^(A|B|AP|BP)_(ORDER|DMAX|\d+_\d+)$"
)


def restored_header(source: str, height: int, width: int) -> fits.Header:
    """The input's FITS header (text) for its restoration, whose WCS holds only at the same size."""
    header = fits.Header.fromstring(source) if source else fits.Header()
    size = (header.get("NAXIS1"), header.get("NAXIS2"))
    header.strip()  # the new data sets its own structure
    for key in ("BLANK", "CHECKSUM", "DATASUM"):
        header.remove(key, ignore_missing=True, remove_all=True)
    if source and size != (width, height):
        dropped = sorted({key for key in header if WCS_KEYWORD.match(key)})
        for key in dropped:
            header.remove(key, remove_all=True)
        if dropped:
            header.add_history(
                f"galvision: WCS removed, image resampled from {size[0]}x{size[1]} to "
                f"{width}x{height} pixels"
            )
    return header


def _write_fits(
    path: Path, flux: np.ndarray, psf_fwhm: float, source: str, source_header: str
) -> None:
    header = restored_header(source_header, *flux.shape[-2:])
    header["BUNIT"] = ("nanomaggy", "linear flux per pixel")
    header["ORIGIN"] = "galvision"
    if source:
        header["SRCFILE"] = (fits_text(source), "input file of this restoration")
    if np.isfinite(psf_fwhm):
        header["PSF_FWHM"] = (float(psf_fwhm), "[arcsec] FWHM of the input PSF")
    data = flux[0] if len(flux) == 1 else flux
    with atomic_path(path) as tmp:
        fits.PrimaryHDU(data.astype(np.float32), header).writeto(tmp)


def _write_preview(path: Path, panels: Sequence[np.ndarray]) -> None:
    tiles = [display_rgb(panel) for panel in panels]
    gap = np.full((tiles[0].shape[0], 2, *tiles[0].shape[2:]), 255, np.uint8)
    strip = np.concatenate([x for tile in tiles for x in (tile, gap)][:-1], axis=1)
    zoom = max(1, PREVIEW_SIZE // tiles[0].shape[0])
    picture = Image.fromarray(strip)
    picture = picture.resize((picture.width * zoom, picture.height * zoom), Image.NEAREST)
    with atomic_path(path) as tmp:
        picture.save(tmp, format="PNG")


class RestoredImageWriter(PredictionWriter):
    """Writes restored images in nanomaggies, one FITS per image or one HDF5 per rank, and previews.

    Args:
        output_dir: folder for ``<name>_restored.fits``, ``restored-rank<k>.h5`` and
            ``<name>_preview.png`` (input | restored); with FITS, ``manifest-rank<k>.csv``
            names the input file of every output, as its header ``SRCFILE`` does.
        format: ``fits`` (one file per image, keeping the input's FITS header and, when the size
            is unchanged, its WCS) or ``hdf5`` (datasets ``restored``, ``name``, ``source``,
            ``psf_fwhm`` in one file per rank, published when prediction ends).
        preview: also write a PNG per image.
        write_interval: write after every batch or once at the end of the epoch.
    """

    def __init__(
        self,
        output_dir: str = "restored",
        format: Literal["fits", "hdf5"] = "fits",
        preview: bool = True,
        write_interval: Literal["batch", "epoch"] = "batch",
    ) -> None:
        if format not in ("fits", "hdf5"):
            raise ConfigError(
                f"RestoredImageWriter.format must be one of ('fits', 'hdf5'), got {format!r}"
            )
        super().__init__(write_interval)
        self.output_dir = Path(output_dir)
        self.format = format
        self.preview = preview
        self._taken: set[str] = set()
        self._rows = 0
        self._manifest: list[tuple[str, str]] = []

    def hdf5_path(self, rank: int) -> Path:
        """The HDF5 file of one rank; ranks never share a file."""
        return self.output_dir / f"restored-rank{rank}.h5"

    def on_predict_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Start a fresh run: names and HDF5 rows from an earlier run are forgotten."""
        self._taken = set()
        self._rows = 0
        self._manifest = []

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Publish this rank's HDF5 file now that every batch is in it, or its FITS manifest."""
        if self._rows:
            final = self.hdf5_path(trainer.global_rank)
            os.replace(self._partial_path(final), final)
        if self._manifest:
            manifest = self.output_dir / f"manifest-rank{trainer.global_rank}.csv"
            write_manifest(manifest, self._manifest)

    @staticmethod
    def _partial_path(final: Path) -> Path:
        return final.with_name(f".{final.name}.partial")

    def write_batch(self, prediction: dict[str, Any], batch: Any, rank: int, index: int) -> None:
        """Write the restored images of one batch (FITS or HDF5 rows) and their previews."""

        def field(key: str) -> Any:
            return prediction_field(prediction, batch, key)

        restored = as_numpy(prediction[RESTORED])
        flux = to_flux(restored).astype(np.float32)
        fwhm = field(PSF_FWHM)
        fwhms = np.broadcast_to(as_numpy(np.nan if fwhm is None else fwhm), len(flux))
        raw = sample_names(prediction, batch, len(flux), rank, index, "image")
        names = [unique_name(str(name), self._taken) for name in raw]
        headers = field(HEADER) or [""] * len(flux)
        sources = [str(source) for source in field(SOURCE) or [""] * len(flux)]
        self.output_dir.mkdir(parents=True, exist_ok=True)
        if self.format == "fits":
            rows = zip(names, flux, fwhms, sources, headers, strict=True)
            for name, image, image_fwhm, source, header in rows:
                path = self.output_dir / f"{name}_restored.fits"
                _write_fits(path, image, image_fwhm, source, header)
                self._manifest.append((f"{name}_restored.fits", source))
        else:
            self._append_hdf5(self.hdf5_path(rank), flux, names, fwhms, sources)
        if self.preview:
            inputs = field(IMAGE)
            inputs = None if inputs is None else as_numpy(inputs)
            for i, name in enumerate(names):
                panels = [restored[i]] if inputs is None else [inputs[i], restored[i]]
                _write_preview(self.output_dir / f"{name}_preview.png", panels)

    def _append_hdf5(
        self, final: Path, flux: np.ndarray, names: list[str], fwhms: np.ndarray, sources: list[str]
    ) -> None:
        # Rows go to a hidden partial file, renamed over ``final`` at the end, so a reader never
        # sees a half-written run.
        with h5py.File(self._partial_path(final), "a" if self._rows else "w") as file:
            if not self._rows:
                shape = flux.shape[1:]
                file.create_dataset(RESTORED, (0, *shape), "f4", maxshape=(None, *shape))
                file.create_dataset(NAME, (0,), h5py.string_dtype(), maxshape=(None,))
                file.create_dataset(SOURCE, (0,), h5py.string_dtype(), maxshape=(None,))
                file.create_dataset(PSF_FWHM, (0,), "f4", maxshape=(None,))
                file[RESTORED].attrs["BUNIT"] = "nanomaggy"
                file.attrs["ORIGIN"] = "galvision"
            columns = ((RESTORED, flux), (NAME, names), (SOURCE, sources), (PSF_FWHM, fwhms))
            for key, rows in columns:
                file[key].resize(self._rows + len(rows), axis=0)
                file[key][self._rows :] = rows
        self._rows += len(flux)
