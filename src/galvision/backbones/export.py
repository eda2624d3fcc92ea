"""Backbones as shareable folders: timm weights (safetensors) and config, no galvision needed.

An exported folder is what ``timm.create_model("local-dir:<folder>", pretrained=True)`` reads, and
what ``huggingface_hub`` uploads as a timm model (``hf-hub:<repo>`` then loads it). Named
foundations are such folders in the cache, which ``Backbone(weights="<name>")`` finds.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import timm
from timm.models import save_for_hf

from galvision.backbones.vit import Backbone, token_size
from galvision.data.simulate.cache import cache_dir
from galvision.errors import CheckpointError

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
FOUNDATION = "foundation"  # the default name, produced by tasks/foundation.yaml
PRODUCERS = {FOUNDATION: "galvision fit --config tasks/foundation.yaml"}


def foundations_dir() -> Path:
    """The folder of named foundations in the cache."""
    return cache_dir() / "foundations"


def export_backbone(backbone: Backbone, folder: Path) -> Path:
    """Write ``backbone`` to ``folder`` as timm weights and config, replacing it whole."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        save_for_hf(backbone.model, staging, safe_serialization=True)
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def publish_foundation(backbone: Backbone, name: str = FOUNDATION) -> Path:
    """Export ``backbone`` as the named foundation in the cache."""
    return export_backbone(backbone, foundations_dir() / name)


def is_exported(path: Path) -> bool:
    """Whether ``path`` is a folder written by :func:`export_backbone`."""
    return (path / WEIGHTS_FILE).is_file() and (path / CONFIG_FILE).is_file()


def named_foundation(name: str) -> Path:
    """The cached folder of foundation ``name``; a missing one names the command producing it."""
    folder = foundations_dir() / name
    if not is_exported(folder):
        producer = PRODUCERS.get(name, "galvision export --ckpt <checkpoint> --name " + name)
        raise CheckpointError(
            f"backbone weights {name!r}: no foundation of that name in {foundations_dir()}; "
            f"`{producer}` makes it"
        )
    return folder


def backbone_from_folder(folder: Path) -> Backbone:
    """A Backbone of the architecture an exported folder describes, with its weights."""
    config = json.loads((Path(folder) / CONFIG_FILE).read_text())
    args = dict(config.get("model_args", {}))
    args.pop("num_classes", None)
    image = args.pop("img_size", 224)
    args.pop("patch_size", None)  # a hybrid's is on its stem's map: ask the architecture
    architecture = timm.create_model(f"local-dir:{Path(folder).resolve()}", pretrained=False)
    return Backbone(
        name=config["architecture"],
        in_chans=args.pop("in_chans", 3),
        img_size=image[0] if isinstance(image, list | tuple) else image,
        patch_size=token_size(architecture),
        pool=args.pop("global_pool", None) or None,
        weights=str(folder),
        model_kwargs={k: v for k, v in args.items() if k != "fc_norm"},
    )
