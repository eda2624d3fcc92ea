"""A callback that leaves one file per rank, proving that every DDP process trained."""

from pathlib import Path

from lightning.pytorch import Callback


class RankMarker(Callback):
    """Write ``rank-<k>.txt`` with the number of training batches this rank ran."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self.batches = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.batches += 1

    def on_train_end(self, trainer, pl_module) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        marker = self.directory / f"rank-{trainer.global_rank}.txt"
        marker.write_text(f"{self.batches} {trainer.world_size}")
