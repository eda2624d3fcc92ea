"""TaskProportionsPlot: a MultiTask's task proportions over training, as CSV and PNG."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import matplotlib.pyplot as plt

from galvision.callbacks.writing import write_csv
from galvision.errors import ConfigError
from galvision.tasks.multitask import MultiTask


def save_proportions(
    history: list[tuple[int, dict[str, float]]], path: Path, what: str = "proportion of steps"
) -> Path:
    """Each task's proportion (``what`` it is a proportion of) against the step, as a step
    plot."""
    steps = [step for step, _ in history]
    figure, axis = plt.subplots(figsize=(6, 3.5))
    for name in history[0][1]:
        axis.step(steps, [shares[name] for _, shares in history], where="post", label=name)
    axis.set_xlabel("training step")
    axis.set_ylabel(what)
    axis.set_ylim(0, 1)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


class TaskProportionsPlot(L.Callback):
    """At the end of training, write ``task_proportions.csv`` and ``.png`` beside the logs.

    Args:
        output_dir: where to write; default the run's log folder.
    """

    def __init__(self, output_dir: str | None = None) -> None:
        self.output_dir = output_dir

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if not isinstance(pl_module, MultiTask):
            raise ConfigError(
                f"TaskProportionsPlot draws a MultiTask's sampler; {type(pl_module).__name__} "
                "has none"
            )

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # log_dir is agreed between ranks (a collective call): every rank asks for it.
        folder = Path(self.output_dir or trainer.log_dir or trainer.default_root_dir)
        if not trainer.is_global_zero:
            return
        folder.mkdir(parents=True, exist_ok=True)
        history = list(pl_module.sampler.history)
        if history[-1][0] != trainer.global_step:
            history.append((trainer.global_step, pl_module.sampler.proportions))
        names = list(history[0][1])
        write_csv(
            folder / "task_proportions.csv",
            ("step", *names),
            ((step, *(shares[name] for name in names)) for step, shares in history),
        )
        save_proportions(history, folder / "task_proportions.png", pl_module.proportions_meaning)
