"""Classifiers scored on real Galaxy Zoo 1 galaxies: the simulated classes summed onto GZ1's,
probabilities over a split, and accuracy, macro-F1 and the spiral-vs-elliptical AUROC."""

from __future__ import annotations

import torch
from torchmetrics.functional.classification import (
    binary_auroc,
    multiclass_accuracy,
    multiclass_f1_score,
)

from galvision.data import keys
from galvision.label.prior import class_matrix
from galvision.tasks.classification import ClassificationTask

# The data argument naming the GZ1 file under the real-galaxy configs.
REAL_PATH = "--data.init_args.dataset.init_args.dataset.init_args.path"
# Each simulated class onto the Galaxy Zoo 1 class a volunteer would most likely give it.
SIM_TO_GZ1 = {
    "smooth_round": "elliptical",
    "smooth_in_between": "elliptical",
    "smooth_cigar": "elliptical",
    "edge_on_no_bulge": "edge_on",
    "edge_on_with_bulge": "edge_on",
    "unbarred_tight_spiral": "spiral",
    "unbarred_loose_spiral": "spiral",
    "barred_spiral": "spiral",
    "merger": "merger",
    "ring": "spiral",  # ring galaxies are disks; GZ1 has no ring class
}


@torch.no_grad()
def predict_probabilities(task: ClassificationTask, datamodule, split: str) -> tuple:
    """Class probabilities (with the task's TTA) and labels of one split, on the CPU."""
    task.eval()
    probabilities, labels = [], []
    loader = {"val": datamodule.val_dataloader, "test": datamodule.test_dataloader}[split]()
    for batch in loader:
        probabilities.append(task.predict_outputs(batch[keys.IMAGE])["probabilities"])
        labels.append(batch[keys.LABEL])
    return torch.cat(probabilities), torch.cat(labels)


def gather_classes(probabilities: torch.Tensor, names: list[str], into: list[str]) -> torch.Tensor:
    """Probabilities over ``names`` summed onto the classes ``into`` through SIM_TO_GZ1."""
    matrix = torch.from_numpy(class_matrix(names, into, SIM_TO_GZ1)).to(probabilities)
    return probabilities @ matrix


def real_scores(probabilities: torch.Tensor, labels: torch.Tensor, names: list[str]) -> dict:
    """Accuracy, macro-F1 and the spiral-vs-elliptical AUROC of real-galaxy predictions."""
    classes = len(names)
    spiral, elliptical = names.index("spiral"), names.index("elliptical")
    pair = (labels == spiral) | (labels == elliptical)
    odds = probabilities[pair, spiral] / (
        probabilities[pair, spiral] + probabilities[pair, elliptical]
    ).clamp_min(1e-12)
    return {
        "accuracy": float(multiclass_accuracy(probabilities, labels, classes, average="micro")),
        "f1_macro": float(multiclass_f1_score(probabilities, labels, classes, average="macro")),
        "auroc_spiral": float(binary_auroc(odds, (labels[pair] == spiral).long())),
    }
