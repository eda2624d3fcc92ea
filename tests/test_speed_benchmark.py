"""`galvision benchmark speed` on the tiny classification config and small search sizes."""

import numpy as np

from galvision.benchmark.speed import clustered_vectors, median_rate
from galvision.cli import main
from helpers.training import config_args, csv_rows


def test_median_rate_and_spread():
    rates = iter([10.0, 30.0, 20.0])
    assert median_rate(lambda: next(rates), 3) == (20.0, 100.0)


def test_clustered_vectors_are_unit_rows():
    vectors = clustered_vectors(2000, 8, seed=0)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_speed_tables_put_every_figure_beside_its_baseline(tmp_path, capsys):
    main(["benchmark", "speed", "--config", *config_args("classify")[1::2], "--batch-size", "4",
          "--steps", "2", "--warmup", "1", "--repeats", "2", "--stamps", "2", "--sizes", "10000",
          "--dim", "8", "--output", str(tmp_path)])  # fmt: skip
    framework = csv_rows(tmp_path / "speed_framework.csv")
    assert float(framework[0]["ratio"]) == 1.0 and float(framework[1]["rate"]) > 0
    ddp = csv_rows(tmp_path / "speed_ddp.csv")
    assert [row["what"][-13:] for row in ddp] == ["1 process(es)", "2 process(es)"]
    assert float(ddp[0]["ratio"]) == 1.0 and float(ddp[1]["rate"]) > 0
    data = csv_rows(tmp_path / "speed_data.csv")
    assert data[0]["rate"] == framework[1]["rate"]  # training's rate is the data baseline
    assert [row["unit"] for row in data[2:]] == ["stamps/s", "stamps/s"]
    search = csv_rows(tmp_path / "speed_search.csv")
    assert [row["index"] for row in search] == ["flat", "ivfpq", "hnsw"]
    assert float(search[0]["recall_at_10"]) == 1.0
    assert all(0.5 < float(row["recall_at_10"]) <= 1.0 for row in search)
    assert "Projection for 76 M stamps" in capsys.readouterr().out
