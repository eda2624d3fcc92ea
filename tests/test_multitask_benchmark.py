"""`galvision benchmark multitask` on the tiny multi-task config."""

import argparse
import json

import pytest
import torch
import yaml
from torchjd.aggregation import PCGrad, UPGrad

from galvision.benchmark.deconvolution import observe, score
from galvision.benchmark.multitask import DRAWN_CONFIG, Evaluation, mean_and_spread, split_of
from galvision.benchmark.multitask_runs import VARIANTS, Run, budget, single_task_config
from galvision.benchmark.reconstruction import masked_score
from galvision.benchmark.training import configure
from galvision.checkpoints import load_checkpoint_data, load_checkpoint_task
from galvision.cli import main
from galvision.data.multitask_datamodule import MultiTaskDataModule
from galvision.tasks import DeconvolutionTask, MultiTask
from galvision.tasks.export_task import export_task
from galvision.tasks.sampling import ActiveSampler, ProgressSampler, UniformSampler
from helpers.training import REPO, csv_rows, fit_tiny, logged, task_config

BENCHMARK_BASE = [REPO / path for path in DRAWN_CONFIG]  # every row starts from drawn steps


def test_masked_score_sees_only_the_masked_pixels():
    truth = torch.rand(2, 3, 16, 16)
    mask = torch.zeros(2, 1, 16, 16)
    mask[..., :8, :] = 1
    wrong_outside = truth.clone()
    wrong_outside[..., 8:, :] = 0  # errors where nothing was masked do not count
    found = masked_score(wrong_outside, truth, mask)
    assert found["mse"] == pytest.approx(0) and found["ssim"] == pytest.approx(1, abs=1e-4)
    assert masked_score(truth * 0.5, truth, mask)["psnr"] < 30


def test_mean_and_spread_over_seeds():
    row = mean_and_spread([{"psnr": 30.0, "ssim": 0.8}, {"psnr": 32.0}])
    assert row == {"psnr": 31.0, "psnr_pm": 1.0, "ssim": 0.8, "ssim_pm": 0.0}


def test_a_single_task_config_keeps_one_task_and_its_data(tmp_path):
    args = argparse.Namespace(config=task_config("multitask"), output=tmp_path)
    path = single_task_config(args, "classify", tmp_path / "run")
    config = yaml.safe_load(path.read_text())
    model, data = config["model"]["init_args"], config["data"]["init_args"]
    assert [task["class_path"] for task in model["tasks"]] == ["galvision.tasks.ClassificationTask"]
    assert model["names"] == ["classify"] and model["monitor_task"] == "classify"
    assert list(data["datamodules"]) == ["classify"]


def test_the_small_batch_single_task_run_sees_the_same_data_and_test_images(tmp_path):
    args = argparse.Namespace(config=BENCHMARK_BASE, output=tmp_path, updates=4, test_batches=2)
    for name, size in [("classify", 32), ("lens", 64)]:  # the shipped batch sizes
        path = single_task_config(args, name, tmp_path / name, shrink=4)
        source = yaml.safe_load(path.read_text())["data"]["init_args"]["datamodules"][name]
        assert source["init_args"]["batch_size"] == size // 4
    full, small = budget(120, args), budget(480, args, shrink=4)
    assert full[full.index("--trainer.limit_test_batches") + 1] == "2"
    assert small[small.index("--trainer.limit_test_batches") + 1] == "8"


@pytest.mark.parametrize(
    ("row", "sampler", "weighted"),
    [
        ("uniform", UniformSampler, False),
        ("active", ActiveSampler, False),
        ("progress", ProgressSampler, False),
        ("uncertainty", UniformSampler, True),
        ("active_uncertainty", ActiveSampler, True),
    ],
)
def test_each_row_trains_with_the_sampler_and_weighting_it_names(tmp_path, row, sampler, weighted):
    model = configure(BENCHMARK_BASE, tmp_path, 8, 0, list(VARIANTS[row].arguments)).model
    assert model.tasks_per_step == "one"
    assert type(model.sampler) is sampler
    assert (model.log_variances is not None) == weighted
    if sampler is not UniformSampler:  # the config's settings of the active sampler carry over
        assert (model.sampler.floor, model.sampler.temperature) == (0.15, 0.05)


ROW_FLOORS = {
    "mixed_active_uncertainty_deconv_floor": {"deconv": 0.25},
    "mixed_active_uncertainty_deconv_classify_floor": {"deconv": 0.25, "classify": 0.25},
}


@pytest.mark.parametrize(
    ("row", "sampler", "aggregator"),
    [
        ("mixed", UniformSampler, type(None)),
        ("mixed_active", ActiveSampler, type(None)),
        ("mixed_uncertainty", UniformSampler, type(None)),
        ("mixed_active_uncertainty", ActiveSampler, type(None)),
        ("mixed_active_uncertainty_deconv_floor", ActiveSampler, type(None)),
        ("mixed_active_uncertainty_deconv_classify_floor", ActiveSampler, type(None)),
        ("mixed_progress_uncertainty", ProgressSampler, type(None)),
        ("mixed_upgrad", UniformSampler, UPGrad),
        ("mixed_pcgrad", UniformSampler, PCGrad),
    ],
)
def test_the_every_task_rows_step_every_task_and_combine_as_they_name(
    tmp_path, row, sampler, aggregator
):
    model = configure(BENCHMARK_BASE, tmp_path, 8, 0, list(VARIANTS[row].arguments)).model
    assert model.tasks_per_step == "all"
    assert type(model.sampler) is sampler
    assert type(model.gradient_aggregator) is aggregator
    assert (model.log_variances is not None) == ("uncertainty" in row)
    if sampler is ActiveSampler:
        floors = ROW_FLOORS.get(row, {})
        assert (model.sampler.floor, model.sampler.task_floors) == (0.15, floors)


def test_a_run_is_scored_as_its_exported_task_predicts(tmp_path_factory, tmp_path):
    root = fit_tiny(
        tmp_path_factory, "multitask", "adapted", "fit", "--model.init_args.adapter_rank", "2"
    )
    checkpoint = torch.load(root / "checkpoints" / "last.ckpt", weights_only=False)
    for key, value in checkpoint["state_dict"].items():
        if key.startswith("task_adapters.factors.deconv.") and int(key.rsplit(".", 1)[1]) % 2:
            value.normal_()  # deconvolution's own updates B, far from zero
    adapted = tmp_path / "adapted.ckpt"
    torch.save(checkpoint, adapted)
    found = Evaluation(4, "deconv", "reconstruct").run_scores(Run(adapted, {}, ["deconv"]))
    data = load_checkpoint_data(adapted, MultiTaskDataModule)
    alone = load_checkpoint_task(
        export_task(adapted, "deconv", tmp_path / "deconv.ckpt"), DeconvolutionTask
    )
    test = observe(alone, split_of(data, "deconv"), 4)
    exported = score(test.restored, test.target)["psnr"]
    assert found["deconv_psnr"] == pytest.approx(exported, abs=1e-4)
    shared = load_checkpoint_task(adapted, MultiTask).tasks["deconv"]  # without its adapters
    without = score(observe(shared, split_of(data, "deconv"), 4).restored, test.target)["psnr"]
    assert abs(without - exported) > 1e-3  # the tiny head hardly uses the backbone yet


@pytest.mark.slow  # four training runs, their tests and the classical baselines: 2 minutes
def test_tables_put_trained_rows_beside_the_baselines(tmp_path, capsys):
    arguments = ["benchmark", "multitask", "--config", *map(str, task_config("multitask")),
                 "--steps", "4", "--updates", "2", "--seeds", "0", "1", "--images", "4",
                 "--rows", "uniform", "active", "--output", str(tmp_path)]  # fmt: skip
    main(arguments)
    deconv = csv_rows(tmp_path / "multitask_deconv.csv")
    assert deconv[0]["method"] == "blurred input"
    assert "Richardson–Lucy" in deconv[1]["method"]
    assert [row["method"] for row in deconv][2:] == ["multi-task, uniform", "multi-task, active"]
    assert "±" in deconv[2]["psnr"] and "±" not in deconv[0]["psnr"]
    reconstruct = csv_rows(tmp_path / "multitask_reconstruct.csv")
    assert [row["method"] for row in reconstruct][:2] == [
        "masked input", "biharmonic inpainting (scikit-image)"
    ]  # fmt: skip
    classes = csv_rows(tmp_path / "multitask_classes.csv")
    assert all("±" in row["classify_accuracy"] and row["lens_auroc"] for row in classes)
    paired = csv_rows(tmp_path / "multitask_paired.csv")
    assert [row["comparison"] for row in paired] == ["active - uniform"]
    assert paired[0]["deconv_psnr"].endswith("/2)") and paired[0]["lens_auroc"].endswith("/2)")
    assert (tmp_path / "multitask_proportions_active.png").stat().st_size > 0
    assert not (tmp_path / "multitask_proportions_uniform.png").exists()  # its shares stay put
    results = sorted((tmp_path / "multitask-runs").glob("*/result.json"))
    assert len(results) == 4
    before = [path.stat().st_mtime for path in results]
    capsys.readouterr()
    main(arguments)  # every run is read back, none trained again
    assert [path.stat().st_mtime for path in results] == before
    assert "Multi-task: deconvolution" in capsys.readouterr().out


@pytest.mark.slow  # four single-task runs, then the run sampling toward them: a minute
def test_the_target_row_aims_at_each_single_task_runs_final_validation_loss(tmp_path):
    main(["benchmark", "multitask", "--config", *map(str, task_config("multitask")),
          "--steps", "4", "--updates", "1", "--seeds", "0", "--images", "4",
          "--rows", "target", "--output", str(tmp_path)])  # fmt: skip
    runs = tmp_path / "multitask-runs"
    stored = json.loads((runs / "target-seed0" / "result.json").read_text())["arguments"]
    targets = json.loads(stored[stored.index("--model.init_args.sampler.init_args.targets") + 1])
    assert list(targets) == ["deconv", "reconstruct", "classify", "lens"]
    for name, target in targets.items():
        last = logged(runs / f"single-{name}-seed0", f"val/{name}/loss")[-1]  # at the last step
        assert target == float(f"{last:.3g}")
    trained = load_checkpoint_task(runs / "target-seed0" / "checkpoints" / "last.ckpt", MultiTask)
    assert trained.sampler.targets == targets
