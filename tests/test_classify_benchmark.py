"""`galvision benchmark classify` on the tiny classification config and a tiny GZ1-layout file."""

import pytest
import torch

from galvision.backbones import ConvBackbone
from galvision.benchmark.classification import parse_label_counts
from galvision.benchmark.gz1_scores import SIM_TO_GZ1, gather_classes, real_scores
from galvision.cli import main
from galvision.data.simulate import CLASS_NAMES
from galvision.errors import ConfigError, DataError
from helpers.catalogues import write_gz1
from helpers.training import csv_rows, task_config


def test_conv_backbone_pools_one_embedding_and_checks_its_input():
    backbone = ConvBackbone("resnet18", in_chans=3, img_size=32)
    assert backbone(torch.rand(2, 3, 32, 32)).shape == (2, backbone.embed_dim)
    with pytest.raises(DataError, match="in_chans=3"):
        backbone(torch.rand(2, 4, 32, 32))
    with pytest.raises(ConfigError, match="timm cannot build 'resnet_nope'"):
        ConvBackbone("resnet_nope")


def test_label_counts_and_class_mapping():
    assert parse_label_counts(["10", "all"]) == [10, None]
    with pytest.raises(ConfigError, match="'ten' is neither"):
        parse_label_counts(["ten"])
    assert set(SIM_TO_GZ1) == set(CLASS_NAMES)
    names = ["elliptical", "spiral", "edge_on", "merger"]
    probabilities = torch.zeros(2, len(CLASS_NAMES))
    probabilities[0, CLASS_NAMES.index("barred_spiral")] = 0.7
    probabilities[0, CLASS_NAMES.index("ring")] = 0.1
    probabilities[0, CLASS_NAMES.index("smooth_round")] = 0.2
    probabilities[1, CLASS_NAMES.index("smooth_cigar")] = 1.0
    gathered = gather_classes(probabilities, list(CLASS_NAMES), names)
    torch.testing.assert_close(gathered, torch.tensor([[0.2, 0.8, 0, 0], [1.0, 0, 0, 0]]))


def test_real_scores_on_a_hand_made_prediction_set():
    names = ["elliptical", "spiral", "edge_on", "merger"]
    labels = torch.tensor([0, 0, 1, 1, 2, 3])
    probabilities = torch.tensor(
        [
            [0.9, 0.1, 0.0, 0.0],
            [0.4, 0.6, 0.0, 0.0],  # an elliptical called spiral
            [0.2, 0.8, 0.0, 0.0],
            [0.3, 0.7, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ]
    )
    scores = real_scores(probabilities, labels, names)
    assert scores["accuracy"] == pytest.approx(5 / 6)
    # Spiral odds: ellipticals 0.1, 0.6; spirals 0.8, 0.7 -> every spiral above every elliptical.
    assert scores["auroc_spiral"] == pytest.approx(1.0)
    probabilities[1] = torch.tensor([0.25, 0.75, 0.0, 0.0])  # now above one spiral of two
    assert real_scores(probabilities, labels, names)["auroc_spiral"] == pytest.approx(0.75)


def test_benchmark_writes_both_tables_and_the_learning_curve(tiny_mae, tmp_path, capsys):
    real = write_gz1(tmp_path / "gz1.h5")
    out = tmp_path / "out"
    arguments = [
        "benchmark", "classify", "--config", *map(str, task_config("classify")),
        "--foundation", str(tiny_mae), "--labels", "1", "all", "--steps", "2",
        "--real", str(real), "--real-config", *map(str, task_config("classify_gz1")),
        "--real-labels", "2", "all", "--real-steps", "2", "--output", str(out),
    ]  # fmt: skip
    main(arguments)
    simulated = csv_rows(out / "classify_simulated.csv")
    assert [(r["method"], r["labels_per_class"]) for r in simulated][:2] == [
        ("ResNet-18 (timm)", "1"),
        ("ResNet-18 (timm)", "all"),
    ]
    assert len(simulated) == 8
    assert {r["training"] for r in simulated} >= {"linear probe", "from scratch"}
    assert all(0 <= float(r["accuracy"]) <= 1 and 0 <= float(r["auroc"]) <= 1 for r in simulated)
    assert (out / "classify_learning_curve.png").stat().st_size > 10_000
    real_rows = csv_rows(out / "classify_gz1.csv")
    assert [r["labels_per_class"] for r in real_rows] == ["0", "0", "2", "all", "2", "all"]
    assert all(0 <= float(r["auroc_spiral"]) <= 1 for r in real_rows)
    printed = capsys.readouterr().out
    assert "Morphology: simulated survey" in printed and "Morphology: real SDSS galaxies" in printed
    # The probe row trained only the head: its backbone is the foundation's, unchanged.
    probe = torch.load(out / "classify" / "foundation-probe-all" / "checkpoints" / "last.ckpt",
                       weights_only=False)["state_dict"]  # fmt: skip
    mae = torch.load(tiny_mae, weights_only=False)["state_dict"]
    key = "network.backbone.model.blocks.0.attn.qkv.weight"
    torch.testing.assert_close(probe[key], mae[key])
    # A second call reuses every finished run instead of training again.
    stamps = {p: p.stat().st_mtime for p in out.glob("classify/*/result.json")}
    main(arguments)
    assert stamps == {p: p.stat().st_mtime for p in out.glob("classify/*/result.json")}


def test_unknown_method_keys_are_one_line():
    with pytest.raises(SystemExit, match=r"--methods: \['foundation-probe'\] not among"):
        main(["benchmark", "classify", "--config", *map(str, task_config("classify")),
              "--methods", "vit", "foundation-probe"])  # fmt: skip


def test_real_table_needs_the_all_label_runs(tmp_path):
    with pytest.raises(SystemExit, match="needs the 'all' label setting"):
        main(["benchmark", "classify", "--labels", "10", "--real", str(tmp_path / "x.h5")])
