"""Box geometry of centre-point detection: targets, decoding, matching.

Boxes are xyxy in pixels of the input image, ``x`` along the last (width) axis, with pixel
``i`` spanning ``[i, i + 1)``. Output cell ``j`` of a map at stride ``s`` covers input pixels
``[j s, (j + 1) s)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torchvision.ops import box_iou, nms


@dataclass
class CenterTargets:
    """Training targets of a CenterNet head for a batch of B images holding up to M boxes.

    Attributes:
        heatmap: (B, 1, h, w) Gaussian peaks, exactly 1 at each box's centre cell.
        size: (B, M, 2) box width and height in output cells.
        offset: (B, M, 2) sub-cell position of each centre, in [0, 1).
        index: (B, M) flat index ``y * w + x`` of each centre cell.
        mask: (B, M) True for real boxes, False for padding.
    """

    heatmap: torch.Tensor
    size: torch.Tensor
    offset: torch.Tensor
    index: torch.Tensor
    mask: torch.Tensor


def gaussian_radius(
    width: torch.Tensor, height: torch.Tensor, min_overlap: float = 0.7
) -> torch.Tensor:
    """CenterNet's radius: how far a corner may move with the box keeping ``min_overlap`` IoU."""
    total, area = height + width, height * width
    r1 = (total + (total**2 - 4 * area * (1 - min_overlap) / (1 + min_overlap)).sqrt()) / 2
    r2 = (2 * total + (4 * total**2 - 16 * (1 - min_overlap) * area).sqrt()) / 2
    b3 = -2 * min_overlap * total
    r3 = (b3 + (b3**2 - 16 * min_overlap * (min_overlap - 1) * area).sqrt()) / 2
    return torch.minimum(torch.minimum(r1, r2), r3)


def encode_targets(
    boxes: list[torch.Tensor], out_size: tuple[int, int], stride: int
) -> CenterTargets:
    """Heatmap, size, offset and index targets of per-image boxes (n_i, 4) for an (h, w) map.

    Each box draws a Gaussian of standard deviation ``(2 r + 1) / 6`` output cells around its
    centre cell, cut at ``r`` (CenterNet's :func:`gaussian_radius`); overlapping peaks keep
    the maximum.
    """
    h, w = out_size
    count = max([len(b) for b in boxes] + [1])
    device = boxes[0].device if boxes else torch.device("cpu")
    heatmap = torch.zeros(len(boxes), 1, h, w, device=device)
    size = torch.zeros(len(boxes), count, 2, device=device)
    offset = torch.zeros_like(size)
    index = torch.zeros(len(boxes), count, dtype=torch.long, device=device)
    mask = torch.zeros(len(boxes), count, dtype=torch.bool, device=device)
    ys = torch.arange(h, device=device, dtype=torch.float32)[None, :, None]
    xs = torch.arange(w, device=device, dtype=torch.float32)[None, None, :]
    for i, image_boxes in enumerate(boxes):
        if not len(image_boxes):
            continue
        cells = image_boxes.float() / stride
        extent = cells[:, 2:] - cells[:, :2]
        centre = (cells[:, :2] + cells[:, 2:]) / 2
        cell = centre.floor().clamp_min(0)
        cell = torch.minimum(cell, torch.tensor([w - 1, h - 1], device=device))
        radius = gaussian_radius(extent[:, 0], extent[:, 1]).floor().clamp_min(0)[:, None, None]
        dx, dy = xs - cell[:, 0, None, None], ys - cell[:, 1, None, None]
        peaks = torch.exp(-(dx**2 + dy**2) / (2 * ((2 * radius + 1) / 6) ** 2))
        peaks = peaks * ((dx.abs() <= radius) & (dy.abs() <= radius))
        heatmap[i, 0] = peaks.amax(0)
        n = len(image_boxes)
        size[i, :n] = extent
        offset[i, :n] = centre - cell
        index[i, :n] = (cell[:, 1] * w + cell[:, 0]).long()
        mask[i, :n] = True
    return CenterTargets(heatmap, size, offset, index, mask)


def gather_cells(maps: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Values of (B, K, h, w) maps at flat cell indices (B, M): (B, M, K)."""
    flat = maps.flatten(2).transpose(1, 2)
    return flat.gather(1, index[..., None].expand(-1, -1, maps.shape[1]))


def decode(
    heatmap: torch.Tensor,
    size: torch.Tensor,
    offset: torch.Tensor,
    stride: int,
    k: int = 10,
    score_threshold: float = 0.05,
    iou_threshold: float = 0.5,
) -> list[dict[str, torch.Tensor]]:
    """Boxes of (B, 1, h, w) heatmap probabilities and (B, 2, h, w) size and offset maps.

    Peaks are cells equal to the maximum of their 3×3 neighbourhood; the ``k`` highest with a
    score of at least ``score_threshold`` become boxes, cut to the image and thinned by
    non-maximum suppression. Returns one torchmetrics-style dict per image: ``boxes`` (n, 4)
    xyxy pixels, ``scores`` (n,) and ``labels`` (n,) zeros.
    """
    b, _, h, w = heatmap.shape
    peaks = heatmap * (F.max_pool2d(heatmap, 3, stride=1, padding=1) == heatmap)
    scores, index = peaks.flatten(1).topk(min(k, h * w))
    cell = torch.stack([index % w, index // w], dim=-1).to(heatmap.dtype)
    centre = (cell + gather_cells(offset, index)) * stride
    half = gather_cells(size, index).clamp_min(0) * stride / 2
    limit = torch.tensor([w, h, w, h], dtype=heatmap.dtype, device=heatmap.device) * stride
    boxes = torch.cat([centre - half, centre + half], dim=-1).clamp_min(0)
    boxes = torch.minimum(boxes, limit)
    detections = []
    for i in range(b):
        keep = scores[i] >= score_threshold
        image_boxes, image_scores = boxes[i, keep], scores[i, keep]
        kept = nms(image_boxes, image_scores, iou_threshold)
        detections.append(
            {
                "boxes": image_boxes[kept],
                "scores": image_scores[kept],
                "labels": torch.zeros(len(kept), dtype=torch.long, device=heatmap.device),
            }
        )
    return detections


def count_matches(
    boxes: torch.Tensor, scores: torch.Tensor, truth: torch.Tensor, iou_threshold: float = 0.5
) -> int:
    """True positives: predictions, best score first, each taking its best free truth box."""
    if not len(boxes) or not len(truth):
        return 0
    iou = box_iou(boxes[scores.argsort(descending=True)], truth)
    free = torch.ones(len(truth), dtype=torch.bool, device=truth.device)
    matched = 0
    for row in iou:
        candidates = torch.where(free, row, torch.full_like(row, -1.0))
        best = int(candidates.argmax())
        if candidates[best] >= iou_threshold:
            free[best] = False
            matched += 1
    return matched
