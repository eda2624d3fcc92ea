"""Names of the entries of a batch dictionary, defined once for every task and datamodule."""

from __future__ import annotations

from typing import Any

from galvision.errors import DataError

IMAGE = "image"  # (B, C, H, W) model input in display space
SECOND_IMAGE = "second_image"  # (B, C, H, W) another view of IMAGE's galaxies (contrastive)
TARGET = "target"  # (B, C, H, W) what the model must output, display space
CLEAN = "clean"  # (B, C, H, W) noise-free, PSF-free galaxy in linear flux (nanomaggies)
OBSERVED = "observed"  # (B, C, H, W) degraded observation in linear flux
TARGET_FLUX = "target_flux"  # (B, C, H, W) clean galaxy through the target PSF, linear flux
PSF = "psf"  # (B, C, k, k) observing PSF, unit sum per band
TARGET_PSF = "target_psf"  # (B, C, k, k) narrow target PSF, unit sum per band
PSF_FWHM = "psf_fwhm"  # (B,) FWHM of the observing PSF in arcsec (reference band)
SKY_SIGMA = "sky_sigma"  # (B, C) background noise per pixel, nanomaggies
GAIN = "gain"  # (B, C) electrons per nanomaggy for the Poisson term
NOISE_KERNEL = "noise_kernel"  # (B, 1, k, k) unit-norm kernel correlating resampled noise
DISPLAY = "display"  # (B, 3 + 2C) Lupton Q, stretch, JPEG quality, band scales and minima
INDEX = "index"  # (B,) position of the sample in its dataset, seeds evaluation noise
ROW = "row"  # (B,) position of the sample in the whole catalogue being embedded
MASK = "mask"  # (B, 1, H, W) 1 where a pixel is missing
VISIBLE = "visible"  # (B, n) indices of the patches an MAE encoder sees, row-major
VOTES = "votes"  # (B, K) float32 volunteers' vote counts per class (Galaxy Zoo), 0 where none
LABEL = "label"  # (B,) int64 class index; for lens fields 1 when the field holds a lens
BOXES = "boxes"  # list of B (n_i, 4) float32 boxes, xyxy pixel coordinates (x along width)
SYMBOL = "symbol"  # (B, 1, H, W) float32 schematic line drawing of the galaxy, in [0, 1]
TEXT = "text"  # list of B captions of the galaxies
PARAMS = "params"  # (B, P) stored simulation parameters chosen by the datamodule
NAME = "name"  # list of source names (files, rows) for writers
HEADER = "header"  # list of FITS headers of the sources as text ("" when none), for writers
SOURCE = "source"  # list of the input files (file[row] for stacks) the names come from


def require(batch: dict, key: str, who: str, remedy: str = "") -> Any:
    """``batch[key]``, or a one-line DataError naming ``who`` needs it and how to provide it."""
    if key not in batch:
        present = ", ".join(sorted(batch)) or "nothing"
        hint = f"; {remedy}" if remedy else ""
        raise DataError(f"{who}: the batch has no {key!r} (it holds {present}){hint}")
    return batch[key]
