"""ClassificationTask: galaxy morphology classes from the backbone's pooled embedding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassAUROC,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassRecall,
)
from torchmetrics.wrappers import ClasswiseWrapper

from galvision.data import keys
from galvision.errors import ConfigError
from galvision.heads import ClassifierHead
from galvision.models.classifier import Classifier, PooledHeadFactory
from galvision.tasks.base import GalaxyTask
from galvision.tasks.parameters import ParameterTargets
from galvision.tasks.votes import dirichlet_multinomial_nll
from galvision.transforms import BatchTransform, Observe, RandomDihedral
from galvision.transforms.dihedral import dihedral_views


def classification_metrics(num_classes: int) -> MetricCollection:
    """Accuracy, macro F1 and macro one-vs-rest AUROC, on class probabilities."""
    return MetricCollection(
        {
            "accuracy": MulticlassAccuracy(num_classes, average="micro"),
            "f1_macro": MulticlassF1Score(num_classes, average="macro"),
            "auroc": MulticlassAUROC(num_classes, average="macro"),
        }
    )


class ClassificationTask(GalaxyTask):
    """Morphology classification: cross-entropy on a linear head over pooled ViT features.

    Fine-tune everything (optionally with ``layer_decay``), train a linear probe with
    ``freeze_backbone: true``, or train few-shot through the datamodule's ``labels_per_class``.
    Training augmentation belongs to the data (``galvision.transforms.RandomDihedral``: the
    same group of exact rotations and flips that ``tta`` averages over).

    Args:
        backbone: the shared foundation ViT, or a ``ConvBackbone`` CNN baseline.
        num_classes: number of classes; must match the datamodule's.
        head: classification head factory, called as ``head(backbone, num_classes,
            number of regressed parameters)``; default :class:`~galvision.heads.ClassifierHead`
            (``init_args``: ``dropout``, ``norm: layer`` or ``batch``, the MAE probe recipe).
        label_smoothing: label smoothing of the training cross-entropy.
        tta: at val/test/predict, average the softmax over the 8 dihedral transforms.
        regression_parameters: stored parameters also regressed, among the datamodule's
            ``stored_parameters``.
        regression_weight: weight of the regression loss (MSE of targets standardised with
            the training set's mean and deviation, NaN entries ignored); 0 disables it.
        vote_weight: weight of the Dirichlet-multinomial likelihood of the batch's ``votes``
            (Galaxy Zoo vote counts per class, ``galvision.tasks.votes``); 0 disables it.
        **kwargs: transforms, optimizer, lr_scheduler, layer_decay, freeze_backbone (see
            GalaxyTask).
    """

    monitor = ("val/f1_macro", "max")
    name = "classify"

    def __init__(
        self,
        backbone: nn.Module,
        num_classes: int,
        head: PooledHeadFactory = ClassifierHead,
        label_smoothing: float = 0.0,
        tta: bool = False,
        regression_parameters: list[str] | None = None,
        regression_weight: float = 0.0,
        vote_weight: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(backbone, **kwargs)
        if num_classes < 2:
            raise ConfigError(f"model.num_classes={num_classes} must be at least 2")
        if vote_weight < 0:
            raise ConfigError(f"model.vote_weight={vote_weight} must not be negative")
        names = list(regression_parameters or ()) if regression_weight > 0 else []
        if regression_weight > 0 and not names:
            raise ConfigError(
                f"model.regression_weight={regression_weight} needs model.regression_parameters"
            )
        self.parameter_names = names
        self.network = Classifier(backbone, head(backbone, num_classes, len(names)))
        self.parameters_regressed = ParameterTargets(names) if names else None
        self.add_metrics(classification_metrics(num_classes), stages=("val", "test"))
        # A dict-valued metric cannot go through log_dict: logged by name at each epoch end.
        self.recall = nn.ModuleDict(
            {
                stage: ClasswiseWrapper(
                    MulticlassRecall(num_classes, average=None), prefix=f"{stage}/recall_"
                )
                for stage in ("val", "test")
            }
        )
        self.confusion = MulticlassConfusionMatrix(num_classes)
        self.class_names = [str(label) for label in range(num_classes)]

    # -- data ---------------------------------------------------------------------------------
    @staticmethod
    def default_transforms() -> list[BatchTransform]:
        """The survey observation, then random rotations and flips in training."""
        return [Observe(), RandomDihedral()]

    def setup(self, stage: str) -> None:
        """Check bands, size and class count against the datamodule; take its class names."""
        super().setup(stage)
        datamodule = self.datamodule
        count = getattr(datamodule, "num_classes", None)
        names = getattr(datamodule, "class_names", None)
        if count is not None and count != self.hparams.num_classes:
            raise ConfigError(
                f"data has {count} classes ({', '.join(names or [])}) but "
                f"model.num_classes={self.hparams.num_classes}"
            )
        if names:
            self.set_class_names(names)
        if self.parameters_regressed is not None:
            self.parameters_regressed.check_data(datamodule, stage)

    def set_class_names(self, names: list[str]) -> None:
        """Name the classes in predictions, per-class metric keys and the confusion matrix."""
        self.class_names = list(names)
        for recall in self.recall.values():
            recall.labels = self.class_names

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["class_names"] = self.class_names

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if "class_names" in checkpoint:
            self.set_class_names(checkpoint["class_names"])

    # -- model --------------------------------------------------------------------------------
    @property
    def head(self) -> nn.Module:
        """The classification head."""
        return self.network.head

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """Head outputs of display-space images (B, C, H, W): ``logits``, maybe ``regression``."""
        return self.network(image)

    @property
    def uses_tta(self) -> bool:
        """Whether predictions now average over the dihedral transforms."""
        return self.hparams.tta and not self.training

    def predict_outputs(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """Head outputs of the images as given, plus class ``probabilities`` (TTA-averaged)."""
        views = image
        if self.uses_tta:
            views = dihedral_views(image)
        outputs = self(views)
        logits, n = outputs["logits"], len(image)
        probabilities = logits.softmax(-1).reshape(-1, n, logits.shape[-1]).mean(0)
        # The first views are the untransformed images.
        return {name: value[:n] for name, value in outputs.items()} | {
            "probabilities": probabilities
        }

    @torch.no_grad()
    def class_probabilities(self, image: torch.Tensor) -> torch.Tensor:
        """(B, num_classes) probabilities of the images (TTA-averaged where the task uses it)."""
        return self.predict_outputs(image)["probabilities"]

    def compute(self, batch: dict) -> dict[str, Any]:
        """Cross-entropy (NLL of the averaged probabilities with TTA), plus regression and votes."""
        needed = [keys.LABEL, *([keys.PARAMS] if self.parameter_names else [])]
        needed += [keys.VOTES] if self.hparams.vote_weight > 0 else []
        for key in needed:
            keys.require(batch, key, "ClassificationTask")
        label = batch[keys.LABEL]
        outputs = self.predict_outputs(keys.require(batch, keys.IMAGE, "ClassificationTask"))
        if self.uses_tta:
            loss = F.nll_loss(outputs["probabilities"].clamp_min(1e-12).log(), label)
        else:
            smoothing = self.hparams.label_smoothing
            loss = F.cross_entropy(outputs["logits"], label, label_smoothing=smoothing)
        if self.parameters_regressed is not None:
            target = self.parameters_regressed.standardise(batch[keys.PARAMS])
            regression = self.parameters_regressed.loss(outputs["regression"], target)
            loss = loss + self.hparams.regression_weight * regression
            outputs["target"] = target
        if self.hparams.vote_weight > 0:
            votes = dirichlet_multinomial_nll(outputs["logits"], batch[keys.VOTES])
            loss = loss + self.hparams.vote_weight * votes
        return {"loss": loss, **outputs}

    def update_metrics(self, metrics: MetricCollection, outputs: dict, batch: dict) -> None:
        """Classification metrics from the predicted probabilities."""
        metrics.update(outputs["probabilities"], batch[keys.LABEL])

    # -- evaluation outputs -------------------------------------------------------------------
    def shared_step(self, batch: dict, stage: str) -> dict[str, Any]:
        """The template's step, plus recall per class and the test confusion matrix."""
        outputs = super().shared_step(batch, stage)
        if stage in self.recall:
            self.recall[stage].update(outputs["probabilities"], batch[keys.LABEL])
        if stage == "test":
            self.confusion.update(outputs["probabilities"], batch[keys.LABEL])
        targets = self.parameters_regressed
        if targets is not None and stage in targets.r2:
            targets.update_r2(stage, outputs["regression"], outputs["target"])
            batch_size = len(outputs["target"])
            self.log_dict(targets.r2[stage], on_step=False, on_epoch=True, batch_size=batch_size)
        return outputs

    def log_recall(self, stage: str) -> None:
        """Log the stage's recall of every class as ``<stage>/recall_<class name>``."""
        self.log_dict(self.recall[stage].compute())
        self.recall[stage].reset()

    def on_validation_epoch_end(self) -> None:
        self.log_recall("val")

    def on_test_epoch_end(self) -> None:
        """Log recall per class; write the confusion matrix PNG in the logger's folder."""
        self.log_recall("test")
        matrix = self.confusion.compute()
        self.confusion.reset()
        # log_dir is agreed between ranks (a collective call): every rank asks for it.
        folder = Path(self.trainer.log_dir or self.trainer.default_root_dir)
        if not self.trainer.is_global_zero:
            return
        folder.mkdir(parents=True, exist_ok=True)
        figure, _ = self.confusion.plot(matrix.cpu(), labels=self.class_names)
        figure.set_size_inches(2 + 0.8 * len(matrix), 1.5 + 0.8 * len(matrix))
        figure.savefig(folder / "confusion_matrix.png", dpi=100, bbox_inches="tight")
        plt.close(figure)

    def predict_batch(self, batch: dict) -> dict[str, Any]:
        """Class probabilities, the most likely class, class names and regressed parameters."""
        outputs = self.predict_outputs(batch[keys.IMAGE])
        predictions = {
            "probabilities": outputs["probabilities"],
            "prediction": outputs["probabilities"].argmax(-1),
            "class_names": self.class_names,
            keys.NAME: batch.get(keys.NAME),
        }
        if self.parameters_regressed is not None:
            values = self.parameters_regressed.values(outputs["regression"])
            predictions |= {"parameters": values, "parameter_names": self.parameter_names}
        return predictions
