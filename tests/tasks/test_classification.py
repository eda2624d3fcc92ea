from pathlib import Path

import numpy as np
import pytest
import torch

from galvision.backbones import Backbone
from galvision.cli import main
from galvision.data import keys
from galvision.data.datamodules import SurveyDataModule
from galvision.data.simulate import CLASS_NAMES, SurveyConfig
from galvision.errors import ConfigError
from galvision.tasks import ClassificationTask
from galvision.transforms.dihedral import dihedral
from helpers.training import config_args, logged


def make_task(tiny_backbone_kwargs, **kwargs) -> ClassificationTask:
    return ClassificationTask(Backbone(**tiny_backbone_kwargs), num_classes=10, **kwargs)


def test_the_eight_dihedral_transforms_are_distinct_and_exact():
    image = torch.arange(16.0).reshape(1, 1, 4, 4)
    views = {tuple(dihedral(image, k).flatten().tolist()) for k in range(8)}
    assert len(views) == 8
    assert torch.equal(dihedral(image, 5), image.rot90(1, (-2, -1)).flip(-1))


def test_tta_is_the_mean_softmax_over_the_eight_transforms(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs, tta=True).eval()
    image = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        averaged = task.predict_outputs(image)["probabilities"]
        each = torch.stack([task(dihedral(image, k))["logits"].softmax(-1) for k in range(8)])
    assert torch.allclose(averaged, each.mean(0), atol=1e-6)
    # The untrained ViT is not rotation invariant, so the average differs from one view.
    assert not torch.allclose(averaged, each[0], atol=1e-4)
    assert torch.allclose(averaged.sum(-1), torch.ones(3))


def test_tta_loss_is_the_nll_of_the_averaged_probabilities(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs, tta=True).eval()
    batch = {keys.IMAGE: torch.rand(4, 3, 32, 32), keys.LABEL: torch.tensor([0, 3, 9, 3])}
    with torch.no_grad():
        outputs = task.compute(batch)
    expected = -outputs["probabilities"][torch.arange(4), batch[keys.LABEL]].log().mean()
    assert outputs["loss"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_regression_loss_ignores_undefined_parameters(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs, regression_parameters=["hlr", "q"], regression_weight=2)
    task.parameters_regressed.mean.copy_(torch.tensor([1.0, 0.5]))
    task.parameters_regressed.std.copy_(torch.tensor([0.5, 0.25]))
    params = torch.tensor([[1.5, float("nan")], [0.5, 0.75]])
    batch = {
        keys.IMAGE: torch.rand(2, 3, 32, 32),
        keys.LABEL: torch.tensor([1, 2]),
        keys.PARAMS: params,
    }
    outputs = task.compute(batch)
    assert torch.equal(outputs["target"][1], torch.tensor([-1.0, 1.0]))
    predicted = outputs["regression"]
    squared = torch.stack([predicted[0, 0] - 1, predicted[1, 0] + 1, predicted[1, 1] - 1]) ** 2
    cross_entropy = torch.nn.functional.cross_entropy(outputs["logits"], batch[keys.LABEL])
    assert outputs["loss"].item() == pytest.approx((cross_entropy + 2 * squared.mean()).item())


def test_regression_without_parameter_names_is_refused(tiny_backbone_kwargs):
    with pytest.raises(ConfigError, match=r"needs model\.regression_parameters"):
        make_task(tiny_backbone_kwargs, regression_weight=1.0)


def test_frozen_backbone_has_no_trainable_parameters_and_stays_in_eval(tiny_backbone_kwargs):
    task = make_task(tiny_backbone_kwargs, freeze_backbone=True)
    task.train()
    assert not any(p.requires_grad for p in task.backbone.parameters())
    assert not task.backbone.training and task.head.training
    trained = {id(p) for group in task.configure_optimizers().param_groups for p in group["params"]}
    assert trained == {id(p) for p in task.head.parameters()}


def test_missing_label_is_named(tiny_backbone_kwargs):
    with pytest.raises(ValueError, match="'label'"):
        make_task(tiny_backbone_kwargs).compute({keys.IMAGE: torch.rand(2, 3, 32, 32)})


def test_few_shot_survey_keeps_exactly_that_many_per_class():
    survey = SurveyConfig(
        n_galaxies=40,
        stamp_size=16,
        n_psfs=2,
        psf_size=7,
        catalogue="morphology",
        mag_range=(15.5, 19),
    )
    data = SurveyDataModule(
        survey,
        val_size=4,
        test_size=4,
        labels_per_class=2,
        simulation_workers=1,
        stored_parameters=["hlr", "q"],
    )
    data.setup("fit")
    train = data.datasets["train"]
    labels = [int(train[i][keys.LABEL]) for i in range(len(train))]
    assert np.bincount(labels, minlength=10).tolist() == [2] * 10
    assert data.num_classes == 10 and data.class_names == list(CLASS_NAMES)
    assert train[0][keys.PARAMS].shape == (2,)
    mean, std = data.parameter_statistics()
    assert (std > 0).all() and 0 < mean[1] < 1  # q is an axis ratio
    assert len(data.datasets["val"]) == 4  # evaluation sets are not thinned


@pytest.fixture(scope="module")
def classify_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("classify")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GALVISION_CACHE", str(tmp_path_factory.getbasetemp() / "galvision-cache"))
        main(["fit", *config_args("classify"), "--trainer.default_root_dir", str(root / "fit")])
        main(
            [
                "test",
                *config_args("classify"),
                "--trainer.default_root_dir",
                str(root / "test"),
                "--ckpt_path",
                str(root / "fit" / "checkpoints" / "last.ckpt"),
            ]
        )
    return root


def test_cli_fit_logs_validation_metrics(classify_run):
    assert len(logged(classify_run / "fit", "train/loss_step")) == 4
    accuracy = logged(classify_run / "fit", "val/accuracy")
    # Two validations (steps 2 and 4) of the 4 validation galaxies: counts of right answers.
    assert len(accuracy) == 2 and all(4 * a == pytest.approx(round(4 * a)) for a in accuracy)


def test_cli_test_logs_metrics_per_class_and_writes_the_confusion_matrix(classify_run):
    root = classify_run / "test"
    # The 8 test galaxies of the balanced tiny survey are indices 16-23: classes 6-9 and 0-3,
    # one each, so the accuracy is the mean recall of those classes.
    present = [CLASS_NAMES[i % len(CLASS_NAMES)] for i in range(16, 24)]
    recalls = [logged(root, f"test/recall_{name}")[0] for name in present]
    assert logged(root, "test/accuracy")[0] == pytest.approx(sum(recalls) / 8)
    assert all(recall in (0.0, 1.0) for recall in recalls)
    for key in ("test/f1_macro", "test/auroc"):
        assert len(logged(root, key)) == 1, key
    for key in ("test/r2_hlr", "test/r2_q"):
        values = logged(root, key)
        assert len(values) == 1 and np.isfinite(values[0]) and values[0] <= 1, key
    image = root / "logs" / "version_0" / "confusion_matrix.png"
    assert image.is_file() and image.read_bytes()[:4] == b"\x89PNG"


def test_cli_refuses_a_class_count_the_data_does_not_have(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "fit",
                *config_args("classify"),
                "--trainer.default_root_dir",
                str(tmp_path),
                "--model.init_args.num_classes",
                "5",
            ]
        )
    text = str(exit_info.value.code)
    assert "data has 10 classes" in text and "model.num_classes=5" in text
    assert "\n" not in text
