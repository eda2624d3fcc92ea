"""load_backbone: start a Backbone from a checkpoint file, a timm model name or ``hf-hub:``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import timm
import torch
from timm.layers import resample_abs_pos_embed

from galvision.errors import CheckpointError

if TYPE_CHECKING:
    from galvision.backbones.vit import Backbone

log = logging.getLogger(__name__)
CHECKPOINT_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".safetensors")
# Task checkpoints keep the backbone under network.backbone (older ones under backbone).
_PREFIXES = (
    "network.backbone.model.",
    "backbone.model.",
    "model.backbone.model.",
    "backbone.",
    "model.",
)


def load_backbone(backbone: Backbone, source: str) -> list[str]:
    """Load weights into ``backbone`` in place and return the names of the loaded tensors.

    ``source`` is a checkpoint path (any galvision/Lightning checkpoint, whose backbone keys
    are found under ``network.backbone.``, or a plain timm state dict), a folder written by
    ``galvision export``, the name of a foundation in the cache (``foundation``),
    ``hf-hub:<repo>`` or a timm model name with pretrained weights (both need a network the
    first time). A tensor whose shape differs (band count, patch size, width) is an error,
    never silently skipped; only the position embedding is resampled when the image size
    differs.
    """
    from galvision.backbones.export import WEIGHTS_FILE, is_exported, named_foundation

    path = Path(source).expanduser()
    if is_exported(path):
        state = _state_from_file(path / WEIGHTS_FILE)
    elif _looks_like_path(source):
        state = _state_from_file(path)
    elif source.startswith("hf-hub:") or timm.is_model(source):
        state = _state_from_timm(backbone, source)
    else:
        state = _state_from_file(named_foundation(source) / WEIGHTS_FILE)
    return _load_state(backbone, state, source)


def _looks_like_path(source: str) -> bool:
    return source.endswith(CHECKPOINT_SUFFIXES) or "/" in source or Path(source).exists()


def _state_from_file(path: Path) -> dict[str, torch.Tensor]:
    if path.is_dir():
        raise CheckpointError(
            f"backbone weights: {path} is a folder without model.safetensors and config.json "
            "(`galvision export` writes them)"
        )
    if not path.is_file():
        raise CheckpointError(f"backbone weights: no such file {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            raw = load_file(str(path))
        else:
            raw = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # a corrupt file can fail in many ways; report them as one
        raise CheckpointError(f"backbone weights: cannot read {path}: {error}") from error
    raw = raw.get("state_dict", raw) if isinstance(raw, dict) else raw
    for prefix in _PREFIXES:
        state = {k[len(prefix) :]: v for k, v in raw.items() if k.startswith(prefix)}
        if state:
            return state
    return dict(raw)


def _state_from_timm(backbone: Backbone, name: str) -> dict[str, torch.Tensor]:
    try:
        pretrained = timm.create_model(
            name,
            pretrained=True,
            num_classes=0,
            in_chans=backbone.in_chans,
            img_size=backbone.img_size,
            patch_size=backbone.model.patch_embed.patch_size,
        )
    except Exception as error:  # network, unknown name, missing weights: one clear line
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"backbone weights: cannot load {name!r}: {message}") from error
    return pretrained.state_dict()


def _load_state(backbone: Backbone, state: dict[str, torch.Tensor], source: str) -> list[str]:
    own = backbone.model.state_dict()
    pos = state.get("pos_embed")
    if (
        pos is not None
        and pos.shape != own["pos_embed"].shape
        and pos.shape[-1] == own["pos_embed"].shape[-1]
    ):
        state["pos_embed"] = resample_abs_pos_embed(
            pos,
            new_size=(backbone.grid_size, backbone.grid_size),
            num_prefix_tokens=backbone.num_prefix_tokens,
        )
    for key, tensor in state.items():
        if key in own and own[key].shape != tensor.shape:
            raise CheckpointError(
                f"backbone weights {source}: {key} has shape {tuple(tensor.shape)} but the "
                f"backbone needs {tuple(own[key].shape)} (different band count, patch size or "
                "width?)"
            )
    loaded = [key for key in own if key in state]
    if not loaded:
        raise CheckpointError(f"backbone weights {source}: no tensor matches the backbone")
    missing = [key for key in own if key not in state]
    backbone.model.load_state_dict({k: state[k] for k in loaded}, strict=False)
    log.info(
        "backbone: loaded %d tensors from %s, %d left at init", len(loaded), source, len(missing)
    )
    if missing:
        log.warning("backbone: not in %s: %s", source, ", ".join(missing[:8]))
    return loaded
