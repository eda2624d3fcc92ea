"""The speed benchmark: where time goes, each figure beside its baseline from the same run.

- framework: a ``ClassificationTask`` training step run by Lightning's loop against a plain
  PyTorch loop over the same model, batch and optimizer (the overhead in per cent);
- DDP: the same step under Lightning's DDP on CPU (gloo), 2 processes against 1 (forked, so
  the configured task need not pickle);
- data: cached survey samples read and collated per second against the rate training
  consumes them, and GalSim stamps simulated per second in one process and in all;
- search: queries per second, memory per vector and recall@10 of FAISS indexes against exact
  search at growing catalogue sizes (clustered synthetic vectors of the embedding's width);
- a projection of embedding and indexing a survey of ``--project`` stamps from those rates.

Every rate is the median of ``--repeats`` timed blocks, with the spread (max - min) / median.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import faiss
import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from galvision.benchmark.report import write_report
from galvision.benchmark.training import add_config_argument, configure, describe_config
from galvision.data.simulate import SurveyConfig
from galvision.data.simulate.cache import default_workers
from galvision.data.simulate.survey import simulate_survey
from galvision.embeddings.search import build_index, recall_at_k, search, unit_rows

INDEXES = ("flat", "ivfpq", "hnsw")
PARTS = ("framework", "ddp", "data", "search")
QUERIES = 1000
NEIGHBOURS = 10


def median_rate(timed: Callable[[], float], repeats: int) -> tuple[float, float]:
    """Median of ``repeats`` rates returned by ``timed()``, and their spread in per cent."""
    return median_rates([timed], repeats)[0]


def median_rates(timed: Sequence[Callable[[], float]], repeats: int) -> list[tuple[float, float]]:
    """``median_rate`` of each of ``timed``, their blocks interleaved so that a drift of the
    machine's speed during the run falls on all of them alike."""
    rates = [[] for _ in timed]
    for _ in range(repeats):
        for block, found in zip(timed, rates, strict=True):
            found.append(block())
    medians = [statistics.median(found) for found in rates]
    return [
        (median, 100 * (max(found) - min(found)) / median)
        for median, found in zip(medians, rates, strict=True)
    ]


# -- framework overhead ---------------------------------------------------------------------
class StepClock(L.Callback):
    """Wall-clock seconds per training step after the first ``skip`` steps; with ``record``,
    the global-zero rank also writes them there (a forked process's callback is a copy)."""

    def __init__(self, skip: int, record: Path | None = None) -> None:
        self.skip, self.record, self.start = skip, record, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        # The global step, not the batch index: under DDP each rank's epoch is shorter.
        if trainer.global_step == self.skip and self.start is None:
            self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module) -> None:
        self.seconds = (time.perf_counter() - self.start) / (trainer.global_step - self.skip)
        if self.record is not None and trainer.is_global_zero:
            self.record.write_text(str(self.seconds))


def lightning_rate(
    task: L.LightningModule, batch: dict, args: argparse.Namespace, devices: int = 1
) -> float:
    """Images per second (over all processes) of ``args.steps`` Lightning training steps."""
    steps = args.warmup + args.steps
    with tempfile.TemporaryDirectory() as folder:
        clock = StepClock(args.warmup, Path(folder) / "seconds")
        trainer = L.Trainer(
            accelerator="cpu", devices=devices, max_steps=steps, logger=False,
            strategy="ddp_fork" if devices > 1 else "auto", enable_checkpointing=False,
            enable_progress_bar=False, enable_model_summary=False, callbacks=[clock],
            num_sanity_val_steps=0, limit_val_batches=0,
        )  # fmt: skip
        trainer.fit(task, DataLoader([batch] * steps, batch_size=None))
        seconds = float(clock.record.read_text())
    return devices * args.batch_size / seconds


def task_and_batch(args: argparse.Namespace) -> tuple[L.LightningModule, dict]:
    """The timed task of ``--config`` and one real batch of its training data."""
    cli = configure(args.config, args.output / "speed-run", 1, 0, [])
    data = cli.datamodule
    data.batch_size = args.batch_size
    data.prepare_data()
    data.setup("fit")
    return cli.model, next(iter(data.train_dataloader()))  # observed inside each step


def framework_rows(args: argparse.Namespace) -> list[dict]:
    """Images per second of one task's steps under Lightning and in a plain loop."""
    task, batch = task_and_batch(args)
    steps = args.warmup + args.steps

    def plain_block() -> float:
        optimizer = torch.optim.AdamW(task.parameters(), lr=1e-4)
        task.train()
        for step in range(steps):
            if step == args.warmup:
                start = time.perf_counter()
            loss = task.compute(task.prepare(dict(batch), "train"))["loss"]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return args.steps * args.batch_size / (time.perf_counter() - start)

    (plain, plain_spread), (framed, framed_spread) = median_rates(
        [plain_block, lambda: lightning_rate(task, batch, args)], args.repeats
    )
    return [
        {"what": "plain PyTorch loop (baseline)", "rate": plain, "unit": "images/s",
         "spread_pct": plain_spread, "ratio": 1.0},
        {"what": "Lightning Trainer, GalaxyTask step", "rate": framed, "unit": "images/s",
         "spread_pct": framed_spread, "ratio": framed / plain},
    ]  # fmt: skip


def ddp_rows(args: argparse.Namespace) -> list[dict]:
    """Images per second over all processes of DDP on CPU (gloo), 1 against ``--ddp`` ranks."""
    task, batch = task_and_batch(args)
    counts = (1, args.ddp)
    rates = median_rates(
        [lambda d=devices: lightning_rate(task, batch, args, d) for devices in counts],
        args.repeats,
    )
    return [
        {"what": f"Lightning DDP on CPU (gloo), {devices} process(es)", "rate": rate,
         "unit": "images/s", "spread_pct": spread, "ratio": rate / rates[0][0]}
        for devices, (rate, spread) in zip(counts, rates, strict=True)
    ]  # fmt: skip


# -- data path ------------------------------------------------------------------------------
def data_rows(args: argparse.Namespace, training_rate: float) -> list[dict]:
    """Cached samples read per second against training's rate; stamps simulated per second."""
    data = configure(args.config, args.output / "speed-run", 1, 0, []).datamodule
    data.prepare_data()
    data.setup("fit")
    loader = DataLoader(data.datasets["train"], batch_size=args.batch_size, shuffle=True)

    def read_block() -> float:
        start, count = time.perf_counter(), 0
        for count, _ in enumerate(loader, 1):
            if count == args.steps:
                break
        return count * args.batch_size / (time.perf_counter() - start)

    read, read_spread = median_rate(read_block, args.repeats)
    rows = [
        {"what": "training consumes (baseline)", "rate": training_rate, "unit": "images/s",
         "ratio": 1.0},
        {"what": "cached samples read and collated", "rate": read, "unit": "images/s",
         "spread_pct": read_spread, "ratio": read / training_rate},
    ]  # fmt: skip
    single = None
    for workers in (1, default_workers()):
        rate = simulation_rate(args.stamps, workers)
        single = single or rate
        rows.append(
            {"what": f"GalSim stamps simulated, {workers} process(es)", "rate": rate,
             "unit": "stamps/s", "ratio": rate / single}
        )  # fmt: skip
    return rows


def simulation_rate(stamps: int, workers: int) -> float:
    """Stamps per second of simulating a fresh morphology survey of ``stamps`` galaxies."""
    config = SurveyConfig(n_galaxies=stamps, seed=1, catalogue="morphology", galaxies="realistic")
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        simulate_survey(config, Path(folder) / "survey.h5", workers=workers, progress=False)
        return stamps / (time.perf_counter() - start)


# -- search ---------------------------------------------------------------------------------
def clustered_vectors(count: int, dim: int, seed: int) -> np.ndarray:
    """Unit vectors around ``count // 100`` centres, like a catalogue of many kinds."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(count // 100, 10), dim)).astype(np.float32)
    members = rng.integers(0, len(centres), count)
    return unit_rows(centres[members] + 0.6 * rng.normal(size=(count, dim)).astype(np.float32))


def search_rows(args: argparse.Namespace) -> list[dict]:
    """Queries/s, bytes per vector and recall@10 of each index at each catalogue size."""
    rows = []
    for size in args.sizes:
        vectors = clustered_vectors(size, args.dim, args.seed)
        rng = np.random.default_rng(args.seed + 1)
        queries = vectors[rng.choice(size, QUERIES)]
        queries = unit_rows(queries + 0.05 * rng.normal(size=queries.shape).astype(np.float32))
        exact, exact_rate = None, None
        for kind in INDEXES:
            start = time.perf_counter()
            index = build_index(vectors, kind, seed=args.seed)
            built = time.perf_counter() - start

            def query_block(index: faiss.Index = index, queries: np.ndarray = queries) -> float:
                start = time.perf_counter()
                search(index, queries, NEIGHBOURS)
                return QUERIES / (time.perf_counter() - start)

            rate, spread = median_rate(query_block, args.repeats)
            found = search(index, queries, NEIGHBOURS)[1]
            if kind == "flat":
                exact, exact_rate = found, rate
            rows.append(
                {"vectors": size, "index": kind, "queries_per_s": rate, "spread_pct": spread,
                 "speedup": rate / exact_rate, "recall_at_10": recall_at_k(found, exact),
                 "bytes_per_vector": faiss.serialize_index(index).nbytes / size,
                 "build_s": built}
            )  # fmt: skip
    return rows


def projection(args: argparse.Namespace, search: list[dict]) -> str:
    """Time, disk and memory of embedding and indexing ``--project`` stamps, from the rates."""
    largest = [row for row in search if row["vectors"] == max(args.sizes)]
    per_vector = {row["index"]: row["bytes_per_vector"] for row in largest}
    count = args.project
    gpu_hours = count / args.gpu_images_per_s / 3600
    disk = count * args.dim * 4 / 1e9
    return (
        f"Projection for {count / 1e6:.0f} M stamps: embedding at {args.gpu_images_per_s:.0f} "
        f"images/s per GPU (--gpu-images-per-s, the measured bf16 inference rate of the "
        f"default backbone) takes {gpu_hours:.1f} GPU-hours of model time, {gpu_hours / 8:.1f} h "
        f"on an 8-GPU node and {gpu_hours / 32:.2f} h over 4 such nodes (Lightning DDP: one "
        f"rank per GPU, each writing its own shards, the index of names merged at the end), if "
        f"reading keeps up; the shards hold {disk:.0f} GB of float32 {args.dim}-d vectors. "
        f"Indexed: {count * per_vector['flat'] / 1e9:.0f} GB in memory exact, "
        f"{count * per_vector['hnsw'] / 1e9:.0f} GB as HNSW, "
        f"{count * per_vector['ivfpq'] / 1e9:.0f} GB as IVF-PQ with exact re-ranking (its codes "
        f"alone are {args.dim // 4} bytes per vector: sharded by rank, or the re-ranking "
        "vectors kept on disk, they fit a node)."
    )


def run(args: argparse.Namespace) -> str:
    """Run ``galvision benchmark speed`` from parsed arguments (the ``--parts`` asked for)."""
    torch.manual_seed(args.seed)
    columns = ["what", "rate", "unit", "spread_pct", "ratio"]
    reports = []
    if {"framework", "data"} & set(args.parts):  # reading is compared with training's rate
        framework = framework_rows(args)
        reports.append(write_report(
            framework, columns, args.output / "speed_framework", "Speed: framework overhead",
            f"Batches of {args.batch_size} for the model of {describe_config(args.config)} on "
            f"{torch.get_num_threads()} CPU threads; {args.repeats} blocks of {args.steps} "
            f"steps after {args.warmup}, the two loops' blocks taking turns.",
        ))  # fmt: skip
    if "ddp" in args.parts:
        reports.append(write_report(
            ddp_rows(args), columns, args.output / "speed_ddp", "Speed: DDP on CPU",
            f"The same step under Lightning's DDP with the gloo backend; each process takes "
            f"batches of {args.batch_size} and the CPU threads are shared between them, so the "
            "rate is the global one.",
        ))  # fmt: skip
    if "data" in args.parts:
        reports.append(write_report(
            data_rows(args, framework[1]["rate"]), columns, args.output / "speed_data",
            "Speed: data path", f"Reading: the training split of the cached data of "
            f"{describe_config(args.config)}, one process, batches of {args.batch_size}. "
            f"Simulation: {args.stamps} realistic morphology stamps into a fresh file.",
        ))  # fmt: skip
    if "search" in args.parts:
        found = search_rows(args)
        reports.append(write_report(
            found,
            ["vectors", "index", "queries_per_s", "spread_pct", "speedup", "recall_at_10",
             "bytes_per_vector", "build_s"],
            args.output / "speed_search", "Speed: similarity search",
            f"{QUERIES} queries for the {NEIGHBOURS} nearest of clustered {args.dim}-d unit "
            f"vectors; recall against the exact (flat) index. {projection(args, found)}",
        ))  # fmt: skip
    return "\n".join(reports)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``galvision benchmark speed``."""
    add_config_argument(parser, "tasks/classify.yaml", "task whose step and data are timed")
    parser.add_argument(
        "--parts", nargs="+", choices=PARTS, default=list(PARTS), help="what to measure"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per block")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ddp", type=int, default=2, help="DDP processes against one")
    parser.add_argument("--stamps", type=int, default=64, help="stamps simulated per rate")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
        help="catalogue sizes searched",
    )  # fmt: skip
    parser.add_argument("--dim", type=int, default=192, help="width of the vectors searched")
    parser.add_argument("--project", type=int, default=76_000_000, help="stamps projected")
    parser.add_argument(
        "--gpu-images-per-s", type=float, default=50_516.0,
        help="embedding rate per GPU for the projection (galvision benchmark throughput)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=Path("benchmark_results"))
