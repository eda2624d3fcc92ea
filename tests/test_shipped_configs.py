"""Every runnable config in tasks/ parses as shipped and trains two steps on tiny overrides."""

from pathlib import Path

import pytest

from galvision.cli import main
from helpers.catalogues import write_gz1
from helpers.training import CONF, REPO, config_args

PREDICT_ONLY = ["embed"]  # tasks that train nothing; tests/test_embeddings.py runs them
LABEL_ONLY = ["label"]  # configs of `galvision label`; tests/label runs them
TASKS = sorted(
    path.stem
    for path in (REPO / "tasks").glob("*.yaml")
    if path.stem not in PREDICT_ONLY + LABEL_ONLY
)
# The checkpoint file names the metric each task declares as its `monitor`.
MONITORED = {
    "align": "zero_shot_text",
    "classify": "f1_macro",
    "classify_gz1": "f1_macro",
    "deconv": "psnr",
    "foundation": "loss",
    "foundation_gz1": "loss",
    "lens": "map_50",
    "multitask": "psnr",  # the deconvolution task's val/deconv/psnr
    "pretrain": "masked_psnr",
    "pretrain_contrastive": "loss",
    "pretrain_parameters": "parameter_mse",
    "reconstruct": "psnr",
}
# Tasks on real GZ1 images: the option naming their HDF5 file, which the test writes.
GZ1_PATH = {
    "classify_gz1": "--data.init_args.dataset.init_args.dataset.init_args.path",
    "foundation_gz1": "--data.init_args.dataset.init_args.path",
}


def test_every_task_has_a_tiny_overlay_and_a_monitored_metric():
    assert sorted(MONITORED) == TASKS
    assert all((CONF / f"{name}.yaml").is_file() for name in TASKS)


@pytest.mark.parametrize(
    ("command", "name", "printed"),
    [("predict", name, "class_path: galvision.tasks.") for name in PREDICT_ONLY]
    + [("label", name, "catalogue: ") for name in LABEL_ONLY],
)
def test_other_command_config_parses_alone(command, name, printed, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--config", str(REPO / "tasks" / f"{name}.yaml"), "--print_config"])
    assert exit_info.value.code == 0
    assert printed in capsys.readouterr().out
    assert (CONF / f"{name}.yaml").is_file()


@pytest.mark.parametrize("name", TASKS)
def test_shipped_config_parses_alone(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(REPO / "tasks" / f"{name}.yaml"), "--print_config"])
    assert exit_info.value.code == 0
    assert "class_path: galvision.tasks." in capsys.readouterr().out


@pytest.mark.parametrize("name", TASKS)
def test_shipped_config_trains_two_steps_and_keeps_the_best(name, tmp_path: Path):
    extra = []
    if name in GZ1_PATH:
        extra = [GZ1_PATH[name], str(write_gz1(tmp_path / "gz1.h5", per_class=6))]
    root = tmp_path / "run"
    main(
        [
            "fit",
            *config_args(name),
            "--trainer.max_steps",
            "2",
            "--trainer.default_root_dir",
            str(root),
            *extra,
        ]
    )
    saved = sorted(p.name for p in (root / "checkpoints").iterdir())
    assert "last.ckpt" in saved
    assert any(f"-{MONITORED[name]}" in file for file in saved if file != "last.ckpt"), saved


def test_no_task_and_datamodule_share_a_hyperparameter_name():
    """Lightning merges both into one log, and refuses a name the two set differently."""
    import inspect

    from galvision import tasks
    from galvision.data.catalogue_datamodule import CatalogueDataModule
    from galvision.data.datamodules import SurveyDataModule
    from galvision.data.lens_datamodule import LensFieldDataModule, LensStampDataModule
    from galvision.data.observed import ObservedImagesDataModule

    def names(cls: type) -> set[str]:
        return set(inspect.signature(cls.__init__).parameters) - {"self", "kwargs"}

    data = [
        SurveyDataModule,
        LensFieldDataModule,
        LensStampDataModule,
        CatalogueDataModule,
        ObservedImagesDataModule,
    ]
    task_names = names(tasks.GalaxyTask).union(*(names(getattr(tasks, n)) for n in tasks.__all__))
    for datamodule in data:
        shared = task_names & names(datamodule)
        assert not shared, (datamodule.__name__, shared)
