"""Three calls for notebooks: load a backbone or a task, embed images, predict.

from galvision import api
backbone = api.load_backbone("foundation")       # a foundation, checkpoint, export or timm name
features = api.embed(backbone, images)            # (N, C, H, W) display space -> (N, D)
restored = api.predict("runs/deconv/checkpoints/last.ckpt", images, psf_fwhm=1.2)["restored"]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from galvision.backbones.export import backbone_from_folder, is_exported, named_foundation
from galvision.backbones.weights import CHECKPOINT_SUFFIXES
from galvision.checkpoints import load_checkpoint_task
from galvision.data import keys
from galvision.errors import CheckpointError
from galvision.tasks.base import GalaxyTask
from galvision.transforms.dihedral import DIHEDRAL_ORDER, dihedral

Images = np.ndarray | torch.Tensor


def load_task(checkpoint: str | Path) -> GalaxyTask:
    """The task of a `galvision fit` checkpoint, with its weights, in eval mode on the CPU."""
    return load_checkpoint_task(Path(checkpoint), GalaxyTask)


def load_backbone(source: str | Path = "foundation") -> torch.nn.Module:
    """A backbone with its weights: a named foundation, an exported folder or a checkpoint."""
    path = Path(source).expanduser()
    if is_exported(path):
        return backbone_from_folder(path).eval()
    if path.is_file():
        return load_task(path).backbone.eval()
    if path.exists() or path.suffix in CHECKPOINT_SUFFIXES or len(path.parts) > 1:
        # A path, not a foundation name: say what is wrong with it rather than with a name.
        raise CheckpointError(
            f"backbone weights: {path} is neither a checkpoint file nor a folder written by "
            "`galvision export`"
        )
    return backbone_from_folder(named_foundation(str(source))).eval()


@torch.no_grad()
def embed(
    backbone: torch.nn.Module, images: Images, batch_size: int = 256, invariant: bool = False
) -> np.ndarray:
    """Pooled embeddings (N, D) of display-space images (N, C, H, W); ``invariant``: each
    averaged over the 8 right-angle turns and flips, so a galaxy's orientation drops out."""
    backbone.eval()
    images = torch.as_tensor(images, dtype=torch.float32)
    turns = range(DIHEDRAL_ORDER) if invariant else range(1)
    chunks = [
        torch.stack([backbone.forward_pooled(dihedral(chunk, k)) for k in turns]).mean(0)
        for chunk in images.split(batch_size)
    ]
    return torch.cat(chunks).numpy()


@torch.no_grad()
def predict(
    task: GalaxyTask | str | Path,
    images: Images,
    psf_fwhm: float | None = None,
    batch_size: int = 64,
) -> dict[str, Any]:
    """What ``galvision predict`` would write for display-space images, as arrays per key."""
    task = load_task(task) if isinstance(task, str | Path) else task.eval()
    images = torch.as_tensor(images, dtype=torch.float32)
    outputs: dict[str, list] = {}
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        batch = {keys.IMAGE: chunk, keys.INDEX: torch.arange(start, start + len(chunk))}
        if psf_fwhm is not None:
            batch[keys.PSF_FWHM] = torch.full((len(chunk),), float(psf_fwhm))
        for key, value in task.predict_step(batch, 0).items():
            if isinstance(value, torch.Tensor):
                outputs.setdefault(key, []).append(value.numpy())
    return {key: np.concatenate(parts) for key, parts in outputs.items()}


__all__ = ["embed", "load_backbone", "load_task", "predict"]
