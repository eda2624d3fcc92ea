"""Hand-made detection batches: bright blobs filling known boxes."""

import torch

from galvision.data import keys

TRUTH = [torch.tensor([[4.0, 4.0, 14.0, 14.0], [18.0, 16.0, 28.0, 28.0]]), torch.zeros(0, 4)]


def blob_batch(boxes: list[torch.Tensor], size: int = 32) -> dict:
    """Fields of faint noise with a bright Gaussian blob filling each box."""
    generator = torch.Generator().manual_seed(1)
    image = 0.05 * torch.rand(len(boxes), 3, size, size, generator=generator)
    grid = torch.arange(size) + 0.5
    for i, field_boxes in enumerate(boxes):
        for x0, y0, x1, y1 in field_boxes.tolist():
            sx, sy = (x1 - x0) / 4, (y1 - y0) / 4
            dx = (grid[None, :] - (x0 + x1) / 2) / sx
            dy = (grid[:, None] - (y0 + y1) / 2) / sy
            image[i] += 0.8 * torch.exp(-(dx**2 + dy**2) / 2)
    labels = torch.tensor([int(len(b) > 0) for b in boxes])
    return {keys.IMAGE: image, keys.BOXES: boxes, keys.LABEL: labels}
