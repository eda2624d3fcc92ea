"""galvision benchmark throughput: rates of backbones measured side by side."""

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
    assert "Throughput" in capsys.readouterr().out
