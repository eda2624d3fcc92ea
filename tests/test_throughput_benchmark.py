"""galvision benchmark throughput: rates of backbones measured side by side."""

import pytest
import torch

from galvision.backbones import Backbone
from galvision.benchmark.throughput import measure, peak_tflops
from galvision.cli import main
from helpers.training import csv_rows


def test_throughput_rates_every_backbone_against_the_first(tmp_path, capsys):
    main(["benchmark", "throughput", "--backbone", "resnet18", "tests/conf/tiny_backbone.yaml",
          "--img-size", "32", "--batch-size", "4", "--steps", "2", "--warmup", "1",
          "--output", str(tmp_path)])  # fmt: skip
    rows = csv_rows(tmp_path / "throughput.csv")
    assert [row["backbone"] for row in rows] == ["resnet18", "tests/conf/tiny_backbone.yaml"]
    assert float(rows[0]["train_ratio"]) == 1.0
    assert all(float(row["train_images_per_s"]) > 0 for row in rows)
    assert float(rows[1]["parameters_m"]) < float(rows[0]["parameters_m"])  # 2 blocks vs 11 M
    assert all(row["mfu"] == "" for row in rows)  # no peak is known for a CPU
    assert "Throughput" in capsys.readouterr().out


def test_throughput_counts_the_same_flops_in_bf16_and_float32():
    torch.manual_seed(0)
    images = torch.rand(2, 3, 32, 32)
    rows = {}
    for precision in ("32", "bf16"):
        backbone = Backbone("vit_tiny_r_s16_p8_224", 3, 32, 8, model_kwargs={"depth": 2,
                            "embed_dim": 48, "num_heads": 2})  # fmt: skip
        rows[precision] = measure(backbone, images, 1, 0, repeats=2, precision=precision)
    for row in rows.values():
        assert row["train_images_per_s"] > 0 and row["infer_images_per_s"] > 0
        assert row["train_spread_pct"] >= 0
        # backward: a weight gradient in every layer, an input gradient in all but the first
        assert 2 < row["train_gflop"] / row["infer_gflop"] < 3
        assert row["train_tflops"] == pytest.approx(
            row["train_gflop"] * row["train_images_per_s"] / 1e3
        )
    assert rows["bf16"]["train_gflop"] == rows["32"]["train_gflop"] > 0


def test_throughput_mfu_is_the_achieved_rate_over_the_given_peak(tmp_path):
    main(["benchmark", "throughput", "--backbone", "tests/conf/tiny_backbone.yaml",
          "--img-size", "32", "--batch-size", "2", "--steps", "1", "--repeats", "1",
          "--warmup", "0", "--device", "cpu", "--precision", "bf16", "--peak-tflops", "0.5",
          "--output", str(tmp_path)])  # fmt: skip
    (row,) = csv_rows(tmp_path / "throughput.csv")
    assert float(row["mfu"]) == pytest.approx(float(row["train_tflops"]) / 0.5)
    assert "bf16 autocast" in (tmp_path / "throughput.md").read_text()


@pytest.mark.parametrize(
    ("name", "peak"),
    [("NVIDIA H100 80GB HBM3", 989.0), ("NVIDIA H100 PCIe", 756.0), ("Tesla T4", None)],
)
def test_throughput_looks_up_the_bf16_peak_of_a_gpu(monkeypatch, name, peak):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
    assert peak_tflops(None, torch.device("cuda"), "bf16") == peak
    assert peak_tflops(None, torch.device("cuda"), "32") is None  # the table holds bf16 peaks
    assert peak_tflops(123.0, torch.device("cuda"), "32") == 123.0
    assert peak_tflops(None, torch.device("cpu"), "bf16") is None
