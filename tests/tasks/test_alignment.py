"""AlignmentTask: three towers, CLIP losses over the pairs, zero-shot metrics, DDP gathering."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from galvision.backbones import Backbone
from galvision.cli import main
from galvision.data import keys
from galvision.data.aligned import AlignmentDataModule
from galvision.data.captions import class_prompts
from galvision.data.simulate import SurveyConfig
from galvision.data.simulate.symbols import class_symbol
from galvision.errors import ConfigError, DataError
from galvision.models.alignment import PAIRS
from galvision.models.text import WordTransformer, hashed_words
from galvision.query import rank_by_symbol, rank_by_text
from galvision.tasks import AlignmentTask
from galvision.tasks.alignment import symmetric_info_nce
from helpers.training import config_args, logged, losses_over_steps, two_process_fit


@pytest.fixture(scope="module")
def aligned() -> AlignmentDataModule:
    survey = SurveyConfig(
        n_galaxies=24,
        stamp_size=32,
        n_psfs=4,
        psf_size=15,
        catalogue="morphology",
        mag_range=(15.5, 19.0),
    )
    data = AlignmentDataModule(survey, val_size=4, test_size=8, batch_size=8, num_workers=0)
    data.prepare_data()
    data.setup("fit")
    return data


def small_task(tiny_backbone_kwargs: dict, **kwargs) -> AlignmentTask:
    return AlignmentTask(Backbone(**tiny_backbone_kwargs), text_encoder="small", **kwargs)


def test_samples_carry_a_symbol_and_a_caption_fixed_in_evaluation(aligned) -> None:
    val = aligned.datasets["val"]
    first, again = val[0], val[0]
    assert first[keys.SYMBOL].shape == (1, 32, 32) and isinstance(first[keys.TEXT], str)
    assert first[keys.TEXT] == again[keys.TEXT]
    torch.testing.assert_close(first[keys.SYMBOL], again[keys.SYMBOL])
    train = aligned.datasets["train"]
    symbols = torch.stack([train[0][keys.SYMBOL] for _ in range(4)])
    assert (symbols - symbols[0]).abs().amax() > 0.1  # drawn afresh: nothing to memorise


def test_info_nce_is_low_for_aligned_and_log_batch_for_unrelated_pairs() -> None:
    torch.manual_seed(0)
    a = torch.nn.functional.normalize(torch.randn(16, 8), dim=-1)
    unrelated = torch.nn.functional.normalize(torch.randn(16, 8), dim=-1)
    scale = torch.tensor(100.0)
    aligned_loss = symmetric_info_nce(
        {"image": a, "text": a}, {"image": a, "text": a}, "image_text", scale, 0
    )
    assert aligned_loss < 0.05
    flat = symmetric_info_nce(
        {"image": a, "text": unrelated},
        {"image": a, "text": unrelated},
        "image_text",
        torch.tensor(0.0),
        0,
    )
    assert float(flat) == pytest.approx(math.log(16), rel=1e-5)


def test_training_brings_the_three_pair_loss_down(aligned, tiny_backbone_kwargs) -> None:
    task = small_task(tiny_backbone_kwargs)
    batch = task.prepare(next(iter(aligned.val_dataloader())), "val")
    losses = losses_over_steps(task, batch, steps=25)
    assert losses[-1] < 0.5 * losses[0]


def test_zero_shot_metrics_use_prompts_and_symbols(aligned, tiny_backbone_kwargs) -> None:
    task = small_task(tiny_backbone_kwargs).eval()
    prototypes = task.class_prototypes()
    assert {name: p.shape for name, p in prototypes.items()} == dict.fromkeys(
        ("text", "symbol", "both"), (10, 128)
    )
    assert torch.allclose(prototypes["text"].norm(dim=-1), torch.ones(10))
    batch = task.prepare(next(iter(aligned.test_dataloader())), "test")
    with torch.no_grad():
        task.shared_step(batch, "test")
    computed = task.metrics["test_metrics"].compute()
    assert 0 <= computed["test/zero_shot_text"] <= 1 and "test/retrieval_image_text" in computed


def test_zero_shot_class_probabilities_ignore_orientation(aligned, tiny_backbone_kwargs) -> None:
    task = small_task(tiny_backbone_kwargs).eval()
    image = task.prepare(next(iter(aligned.test_dataloader())), "test")[keys.IMAGE]
    probabilities = task.class_probabilities(image)
    assert probabilities.shape == (len(image), 10)
    torch.testing.assert_close(probabilities.sum(1), torch.ones(len(image)))
    turned = task.class_probabilities(image.rot90(1, dims=(-2, -1)).flip(-1))
    torch.testing.assert_close(turned, probabilities, atol=1e-5, rtol=1e-4)
    one_view = task.zero_shot_probabilities(task.embed_images(image), task.class_text_embeddings())
    assert not torch.allclose(one_view, probabilities)  # the 8 views are averaged


def test_staged_pairs_join_at_their_step(tiny_backbone_kwargs) -> None:
    task = small_task(tiny_backbone_kwargs, pair_start={"image_symbol": 10})
    task.train()
    assert set(task._active_pairs()) == {"image_text", "symbol_text"}
    task.eval()
    assert set(task._active_pairs()) == set(PAIRS)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pair_weights": {"image_sound": 1.0}}, r"unknown pair\(s\) \['image_sound'\]"),
        ({"pair_weights": {"image_text": 0.0}}, "must weight some pair above 0"),
        ({"symbol_encoder": "rnn"}, r"'rnn' is not one of \['cnn', 'backbone'\]"),
        ({"pair_start": dict.fromkeys(PAIRS, 5)}, "must let some weighted pair start at step 0"),
        ({"class_names": ["spiral", "blob"]}, r"model.class_names: \['blob', 'spiral'\] have no"),
    ],
)
def test_bad_settings_are_one_line_errors(tiny_backbone_kwargs, kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        small_task(tiny_backbone_kwargs, **kwargs)


def test_symbols_through_the_shared_backbone(aligned, tiny_backbone_kwargs) -> None:
    task = small_task(tiny_backbone_kwargs, symbol_encoder="backbone")
    batch = task.prepare(next(iter(aligned.val_dataloader())), "val")
    assert task.compute(batch)["symbol_embedding"].shape == (len(batch[keys.IMAGE]), 128)
    backbone_ids = {id(p) for p in task.backbone.parameters()}
    assert not any(id(p) in backbone_ids for p in task.network.symbol.parameters())


def test_minilm_tower_is_frozen_and_left_out_of_checkpoints(tiny_backbone_kwargs) -> None:
    task = AlignmentTask(Backbone(**tiny_backbone_kwargs), text_encoder="minilm")
    assert not any(name.startswith("network.text") for name in task.state_dict())
    sentences = ["a barred spiral galaxy", "a round smooth galaxy"]
    features = task.network.features("text", sentences)
    assert features.shape == (2, 384)
    assert torch.allclose(features.norm(dim=-1), torch.ones(2), atol=1e-4)


def test_fit_from_the_command_line(tmp_path: Path) -> None:
    main(["fit", *config_args("align"), "--trainer.default_root_dir", str(tmp_path)])
    assert len(logged(tmp_path, "val/zero_shot_text")) == 2
    assert logged(tmp_path, "train/negatives") == [4.0] * 4


@pytest.mark.slow
def test_ddp_gathers_negatives_from_both_ranks(tmp_path: Path) -> None:
    result = two_process_fit("align", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    # Each rank holds 4 galaxies and contrasts them with all 8 of the global batch.
    assert set(logged(tmp_path, "train/negatives")) == {8.0}


def test_word_transformer_reads_hashed_words_whatever_the_padding() -> None:
    ids = hashed_words(["A barred spiral", "a BARRED spiral galaxy"], buckets=64, length=6)
    assert ids[0, :3].tolist() == ids[1, :3].tolist() and ids[0, 3:].eq(0).all()
    assert ids[1, 3] > 0 and ids.max() < 64
    tower = WordTransformer(width=32, depth=1, heads=2, buckets=64, max_words=6).eval()
    alone = tower(["a barred spiral"])
    beside_longer = tower(["a barred spiral", "an edge-on disk with a dust lane"])[:1]
    torch.testing.assert_close(alone, beside_longer, atol=1e-5, rtol=1e-5)


def test_text_and_symbol_queries_find_their_planted_row(tiny_backbone_kwargs) -> None:
    task = small_task(tiny_backbone_kwargs).eval()
    symbol = class_symbol("barred_spiral", np.random.default_rng(0), 32)
    with torch.no_grad():
        planted = torch.stack(
            [
                task.embed_text(["a ring galaxy"])[0],
                task.embed_symbols(torch.from_numpy(symbol)[None, None])[0],
            ]
        )
    others = torch.nn.functional.normalize(torch.randn(30, planted.shape[1]), dim=1)
    table = torch.cat([others[:10], planted, others[10:]])
    assert rank_by_text(task, table, "a ring galaxy", k=3)[1][0] == 10
    scores, rows = rank_by_symbol(task, table, symbol, k=3)
    assert rows[0] == 11 and scores[0] == pytest.approx(1.0, abs=1e-4) and len(rows) == 3


def test_bad_queries_and_prompts_are_one_line_errors(tiny_backbone_kwargs) -> None:
    task = small_task(tiny_backbone_kwargs).eval()
    table = torch.randn(5, 128)
    with pytest.raises(ConfigError, match="query: the text is empty"):
        rank_by_text(task, table, "  ")
    with pytest.raises(ConfigError, match="query: the symbol is blank"):
        rank_by_symbol(task, table, np.zeros((32, 32)))
    with pytest.raises(DataError, match=r"query: the symbol is \(64, 64\), the model draws 32×32"):
        rank_by_symbol(task, table, np.ones((64, 64)))
    with pytest.raises(DataError, match="embeddings are 64-d but the model's space is 128-d"):
        rank_by_text(task, torch.randn(5, 64), "a spiral")
    with pytest.raises(DataError, match="non-empty"):
        rank_by_text(task, torch.empty(0, 128), "a spiral")
    with pytest.raises(ConfigError, match="prompts: unknown class 'blob'"):
        class_prompts("blob")
    with pytest.raises(ConfigError, match=r"prompts: class\(es\) \['ring'\] have no sentence"):
        task.class_text_embeddings({"spiral": ["a spiral"], "ring": []})
