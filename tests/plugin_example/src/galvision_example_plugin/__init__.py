"""Example plugin: a deconvolution task that also penalises negative restored pixels."""

from typing import Any

import torch

from galvision.tasks import DeconvolutionTask


class NonNegativeDeconvolutionTask(DeconvolutionTask):
    """DeconvolutionTask with a penalty on restored pixels below zero."""

    def __init__(self, *args: Any, negativity_weight: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.negativity_weight = negativity_weight

    def compute(self, batch: dict) -> dict[str, Any]:
        outputs = super().compute(batch)
        penalty = torch.relu(-outputs["restored"]).mean()
        outputs["loss"] = outputs["loss"] + self.negativity_weight * penalty
        return outputs
