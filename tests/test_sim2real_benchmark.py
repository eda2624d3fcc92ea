"""`galvision benchmark sim2real` on tiny surveys (DECaLS and SDSS presets) and a tiny GZ1 file."""

import numpy as np
import pytest

from galvision.benchmark.sim2real import domain_accuracy, parse_variants
from galvision.cli import main
from galvision.errors import ConfigError
from helpers.catalogues import write_gz1
from helpers.training import CONF, csv_rows, task_config


def test_domain_accuracy_separates_what_differs_and_not_what_does_not():
    rng = np.random.default_rng(0)
    same = domain_accuracy(rng.normal(size=(60, 40)), rng.normal(size=(60, 40)), True, 0)
    shifted = domain_accuracy(rng.normal(size=(60, 40)), rng.normal(1.0, size=(60, 40)), True, 0)
    assert same < 0.7 and shifted > 0.95


def test_variants_are_name_equals_existing_config(tmp_path):
    with pytest.raises(ConfigError, match="NAME=DATA_CONFIG"):
        parse_variants(["sdss"])
    with pytest.raises(ConfigError, match="no such data config"):
        parse_variants([f"sdss={tmp_path / 'none.yaml'}"])


def test_benchmark_writes_the_table_and_gallery(tmp_path, capsys):
    real = write_gz1(tmp_path / "gz1.h5")
    out = tmp_path / "out"
    main([
        "benchmark", "sim2real", "--config", *map(str, task_config("classify")),
        "--variants", f"decals={CONF / 'tiny_morphology.yaml'}",
        f"sdss={CONF / 'tiny_morphology_sdss.yaml'}",
        "--real", str(real), "--pool", str(real),
        "--real-config", *map(str, task_config("classify_gz1")),
        "--steps", "2", "--images", "24", "--output", str(out),
    ])  # fmt: skip
    rows = csv_rows(out / "sim2real.csv")
    assert [row["variant"] for row in rows] == ["decals", "sdss"]
    for row in rows:
        assert 0 <= float(row["gz1_accuracy"]) <= 1 and 0 <= float(row["domain_pixels"]) <= 1
    # The Lupton display of framed SDSS galaxies is brighter than galvision's asinh of DECaLS.
    assert float(rows[1]["centre"]) > 1.3 * float(rows[0]["centre"])
    assert (out / "sim2real_gallery.png").stat().st_size > 10_000
    assert "Simulation to real" in capsys.readouterr().out
