"""Checkpoints of models fine-tuned from a weights file stand on their own."""

import torch
import yaml

from galvision.backbones import Backbone
from galvision.checkpoints import load_checkpoint_task
from galvision.cli import main
from galvision.tasks import DeconvolutionTask, GalaxyTask
from helpers.training import config_args


def test_checkpoint_reloads_after_the_starting_weights_are_gone(tmp_path, tiny_backbone_kwargs):
    start = Backbone(**tiny_backbone_kwargs)
    with torch.no_grad():
        start.model.pos_embed.fill_(0.5)  # far from any random initialisation
    weights = tmp_path / "start.pt"
    torch.save(start.model.state_dict(), weights)
    root = tmp_path / "run"
    main(
        [
            "fit",
            *config_args("deconv"),
            "--trainer.default_root_dir",
            str(root),
            "--trainer.max_steps",
            "2",
            "--model.init_args.backbone.init_args.weights",
            str(weights),
        ]
    )
    weights.unlink()
    ckpt = root / "checkpoints" / "last.ckpt"
    saved = torch.load(ckpt, map_location="cpu", weights_only=False)["state_dict"]
    # Training started from the file: two small steps left the position embedding near 0.5.
    assert torch.allclose(
        saved["network.backbone.model.pos_embed"], start.model.pos_embed, atol=1e-2
    )
    for task in (
        DeconvolutionTask.load_from_checkpoint(ckpt, map_location="cpu"),
        load_checkpoint_task(ckpt, GalaxyTask),
    ):
        state = task.state_dict()
        assert state.keys() == saved.keys()
        assert all(torch.equal(state[key], saved[key]) for key in saved)
    # The run's logged hyperparameters still say where training started.
    logged = yaml.safe_load((root / "logs" / "version_0" / "hparams.yaml").read_text())
    assert logged["backbone"]["init_args"]["weights"] == str(weights)
