"""Write detected boxes as CSV and JSON per rank, and PNGs of the fields with their boxes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import lightning as L
import numpy as np
from PIL import Image, ImageDraw

from galvision.callbacks.writing import (
    PREVIEW_SIZE,
    PredictionWriter,
    as_numpy,
    atomic_path,
    prediction_field,
    sample_names,
    write_csv,
)
from galvision.data.keys import BOXES, IMAGE, SOURCE
from galvision.data.observed import unique_name
from galvision.errors import ConfigError
from galvision.plotting import display_rgb

COLUMNS = ("name", "x0", "y0", "x1", "y1", "score")
TRUTH_COLOUR = (0, 200, 255)  # true boxes, when the batch has them (simulated fields)
LOW_COLOUR, HIGH_COLOUR = (255, 170, 0), (60, 255, 60)


def draw_boxes(
    image: np.ndarray,
    boxes: np.ndarray,
    scores: np.ndarray,
    thresholds: tuple[float, float],
    truth: np.ndarray | None = None,
) -> Image.Image:
    """A display-space field (C, H, W), enlarged, with true boxes and boxes above each threshold.

    Boxes scoring at least ``thresholds[1]`` are green, those between the two thresholds
    orange, true boxes cyan; boxes below ``thresholds[0]`` are not drawn.
    """
    picture = Image.fromarray(display_rgb(image)).convert("RGB")
    zoom = max(1, PREVIEW_SIZE // picture.height)
    picture = picture.resize((picture.width * zoom, picture.height * zoom), Image.NEAREST)
    pen = ImageDraw.Draw(picture)
    low, high = thresholds
    shown = [(box, TRUTH_COLOUR) for box in (truth if truth is not None else [])]
    shown += [
        (box, HIGH_COLOUR if score >= high else LOW_COLOUR)
        for box, score in zip(boxes, scores, strict=True)
        if score >= low
    ]
    for box, colour in shown:
        x0, y0, x1, y1 = (float(v) * zoom for v in box)
        pen.rectangle((x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)), outline=colour, width=2)
    return picture


class DetectionWriter(PredictionWriter):
    """Writes the boxes of every field to ``detections-rank<k>.{csv,json}`` and field PNGs.

    The CSV has one row per box (``name,x0,y0,x1,y1,score``, xyxy pixels); the JSON lists every
    field, with or without boxes, and its ``field_score``. Both are published whole when
    prediction ends, so a reader never sees a half-written run.

    Args:
        output_dir: folder of the tables and of ``<name>_detections.png``.
        max_images: most PNGs written per rank (0 for none).
        thresholds: two score thresholds; boxes above the higher are drawn in green, those
            between the two in orange, weaker ones not at all.
        write_interval: write after every batch or once at the end of the epoch.
    """

    def __init__(
        self,
        output_dir: str = "detections",
        max_images: int = 50,
        thresholds: tuple[float, float] = (0.5, 0.9),
        write_interval: Literal["batch", "epoch"] = "batch",
    ) -> None:
        if len(thresholds) != 2 or not 0 <= thresholds[0] <= thresholds[1]:
            raise ConfigError(f"DetectionWriter.thresholds={thresholds} must be two, low then high")
        super().__init__(write_interval)
        self.output_dir = Path(output_dir)
        self.max_images = max_images
        self.thresholds = (float(thresholds[0]), float(thresholds[1]))
        self._reset()

    def _reset(self) -> None:
        self._taken: set[str] = set()
        self._fields: list[dict[str, Any]] = []
        self._images = 0

    def on_predict_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Start a fresh run: names and fields of an earlier run are forgotten."""
        self._reset()

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Publish this rank's CSV and JSON tables."""
        self.write_tables(trainer.global_rank)

    def write_tables(self, rank: int) -> None:
        """Write the fields seen so far to ``detections-rank<rank>.{csv,json}``."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        stem = self.output_dir / f"detections-rank{rank}"
        rows = (
            [field["name"], *(f"{v:.2f}" for v in box), f"{score:.4f}"]
            for field in self._fields
            for box, score in zip(field["boxes"], field["scores"], strict=True)
        )
        write_csv(stem.with_suffix(".csv"), COLUMNS, rows)
        with atomic_path(stem.with_suffix(".json")) as tmp:
            tmp.write_text(json.dumps(self._fields, indent=1))

    def write_batch(self, prediction: dict[str, Any], batch: Any, rank: int, index: int) -> None:
        """Keep the boxes of one batch and write its first PNGs."""

        def field(key: str) -> Any:
            return prediction_field(prediction, batch, key)

        boxes = [as_numpy(b).reshape(-1, 4) for b in prediction["boxes"]]
        scores = [as_numpy(s).reshape(-1) for s in prediction["scores"]]
        field_scores = prediction.get("field_score")
        raw = sample_names(prediction, batch, len(boxes), rank, index, "field")
        names = [unique_name(name, self._taken) for name in raw]
        sources = field(SOURCE)
        for i, name in enumerate(names):
            record = {
                "name": name,
                **({"source": str(sources[i])} if sources else {}),
                "boxes": np.round(boxes[i], 2).tolist(),
                "scores": np.round(scores[i], 4).tolist(),
            }
            if field_scores is not None:
                # At float32 precision: fields ranked by it rank as the task's own AUROC does.
                record["field_score"] = float(f"{float(field_scores[i]):.7g}")
            self._fields.append(record)
        # A prediction's "boxes" are predicted, so true boxes come from the batch only.
        images, truth = field(IMAGE), batch.get(BOXES) if isinstance(batch, dict) else None
        if images is None:
            return
        self.output_dir.mkdir(parents=True, exist_ok=True)
        for i, name in enumerate(names):
            if self._images >= self.max_images:
                return
            true_boxes = None if truth is None else as_numpy(truth[i]).reshape(-1, 4)
            picture = draw_boxes(
                as_numpy(images[i]), boxes[i], scores[i], self.thresholds, true_boxes
            )
            with atomic_path(self.output_dir / f"{name}_detections.png") as tmp:
                picture.save(tmp, format="PNG")
            self._images += 1
