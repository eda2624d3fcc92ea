"""Survey display stretches on the device: the Lupton et al. (2004) RGB asinh and JPEG.

Samples of a survey shown as its volunteers saw it (e.g. SDSS SkyServer cutouts) carry a
``DISPLAY`` row: ``[Q, stretch, jpeg_quality (0: none), scale of each band..., minimum of each
band...]``, built from the survey preset by ``galvision.data.simulate.presets.preset_display``.
Samples without it, and rows whose Q is 0 (in batches that mix surveys), are shown in
galvision's display space.
"""

from __future__ import annotations

import torch
from kornia.enhance import jpeg_codec_differentiable

from galvision.data.intensity import to_display

# astropy's AsinhMapping fixes the slope of the stretch at a tenth of `stretch` this way.
_SLOPE_FRACTION = 0.1


def lupton_display(
    flux: torch.Tensor,
    q: torch.Tensor,
    stretch: torch.Tensor,
    scales: torch.Tensor,
    minimum: torch.Tensor | None = None,
) -> torch.Tensor:
    """Lupton RGB of (B, C, H, W) flux in [0, 1], as ``astropy.visualization.make_lupton_rgb``.

    Each band is multiplied by its scale and its ``minimum`` subtracted (none by default); the
    mean over bands, ``I``, is stretched as ``asinh(Q I / stretch)`` and every band multiplied
    by the same factor, which keeps the colours; pixels where a band would pass 1 are scaled
    down whole (Lupton et al. 2004). The result is astropy's 8-bit image over 255 before
    rounding. ``q``, ``stretch``: (B,); ``scales``, ``minimum``: (B, C).
    """
    scaled = flux * scales[:, :, None, None]
    if minimum is not None:
        scaled = scaled - minimum[:, :, None, None]
    intensity = scaled.mean(1, keepdim=True)
    q, stretch = q[:, None, None, None], stretch[:, None, None, None]
    slope = _SLOPE_FRACTION / torch.asinh(_SLOPE_FRACTION * q)
    safe = torch.where(intensity > 0, intensity, torch.ones_like(intensity))
    factor = torch.where(intensity > 0, slope * torch.asinh(safe * q / stretch) / safe, 0.0)
    rgb = (scaled * factor).clamp(min=0)
    peak = rgb.amax(1, keepdim=True)
    return torch.where(peak >= 1, rgb / peak.clamp(min=1), rgb)


def jpeg(display: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) display images in band order through JPEG at per-image ``quality`` (B,)."""
    # JPEG's chroma planes are built from R, G, B: the reddest band is R, bands run blue to red.
    rgb = display.flip(1).clamp(0, 1)
    return jpeg_codec_differentiable(rgb, quality.to(rgb)).flip(1)


def survey_display(flux: torch.Tensor, rows: torch.Tensor | None) -> torch.Tensor:
    """Display (B, C, H, W) flux as each sample's survey does; galvision's asinh without rows."""
    if rows is None:
        return to_display(flux)
    rows = rows.to(flux)
    lupton = rows[:, 0] > 0
    bands = flux.shape[1]
    scales, minimum = rows[:, 3 : 3 + bands], rows[:, 3 + bands : 3 + 2 * bands]
    image = lupton_display(flux, rows[:, 0].clamp(min=1e-6), rows[:, 1], scales, minimum)
    if not lupton.all():
        image = torch.where(lupton[:, None, None, None], image, to_display(flux))
    quality = rows[:, 2]
    compressed = quality > 0
    if compressed.any():
        image = image.clone()
        image[compressed] = jpeg(image[compressed], quality[compressed])
    return image
