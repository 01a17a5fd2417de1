"""The paper's own proxy (``cifar10-proxy``) on a GPU: how fast, how faithful in bf16, and a uniform sample of the
N = 5 space at two seeds.

On the device (it needs CUDA; without it, it says so and exits 0 unless ``--device cpu`` is asked for):

1. reports the GPU and the software;
2. trains 20 fixed N = 5 cells at seed 0 in fp32 and in bf16 autocast and prints their agreement (Spearman of
   the validation accuracies, mean |Δ|);
3. tabulates N = 5 architectures × seeds 0, 1 in a seeded shuffle of the whole space (so whatever is done by the
   deadline is a uniform sample), P candidates in flight at once (one process each, one CUDA context each; the
   training is the suite's one loop: whole data set on the device, bf16 autocast, no DataLoader), until the
   deadline; every finished evaluation is a JSON line at once, so a killed run keeps what it did, and
   ``--resume FILE`` skips what a file already holds.

    python benchmarks/gpu_proxy.py --out $OUT --data-dir DIR --deadline-s 420 --workers 14

Everything it measured is written under ``--out``: ``gpu.json`` (device, software, settings, throughput),
``agreement.jsonl``, ``proxy-n5.jsonl`` and ``log.txt``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

BENCH = "cifar10-proxy"
NODES = 5
AGREEMENT_CELLS = 20
SHUFFLE_SEED = 0

_WORKER: dict = {}


def _init_worker(bench: str, data_dir: str, device: str) -> None:
    import torch

    torch.set_num_threads(1)
    from nasbench_shrink.catalogue import get_benchmark

    _WORKER.update(bench=get_benchmark(bench), data_dir=data_dir, device=device)


def _train(cell_dict: dict, seed: int, bf16: bool) -> dict:
    """One evaluation in a worker process: the suite's LiveTraining, in bf16 autocast or fp32."""
    from nasbench_shrink.evaluation.evaluator import LiveTraining
    from search_spaces import Cell

    t0 = time.time()
    rec = LiveTraining(bf16=bf16).run(
        Cell.from_dict(cell_dict), _WORKER["bench"], "proxy", seed, _WORKER["data_dir"], _WORKER["device"], 1
    )
    out = rec.to_dict()
    out.update(precision="bf16" if bf16 else "fp32", wall_s=time.time() - t0, pid=os.getpid(), t_end=time.time())
    return out


def spearman(a: list[float], b: list[float]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


class Log:
    def __init__(self, path: Path) -> None:
        self.f = path.open("a")

    def __call__(self, msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        self.f.write(line + "\n")
        self.f.flush()


def device_facts(device: str) -> dict:
    import torch

    facts = {"torch": torch.__version__, "python": sys.version.split()[0], "device": device}
    if device.startswith("cuda"):
        p = torch.cuda.get_device_properties(0)
        facts.update(
            gpu=torch.cuda.get_device_name(0),
            capability=f"{p.major}.{p.minor}",
            memory_gib=round(p.total_memory / 2**30, 1),
            multiprocessors=p.multi_processor_count,
            cuda=torch.version.cuda,
        )
        try:
            facts["nvidia_smi"] = subprocess.run(
                ["nvidia-smi", "-L"], capture_output=True, text=True, check=False, timeout=20
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError) as exc:
            facts["nvidia_smi"] = f"unavailable: {exc}"
    return facts


def shuffled_space() -> list:
    from search_spaces.enumeration import enumerate_cells

    cells = enumerate_cells("cnn", NODES)
    random.Random(SHUFFLE_SEED).shuffle(cells)
    return cells


def run_pool(
    pool: ProcessPoolExecutor, jobs: list[tuple], deadline: float, sink, log: Log, workers: int, label: str
) -> int:
    """Run ``jobs`` (cell dict, seed, bf16) with at most ``workers`` in flight until done or the deadline; each
    result goes to ``sink`` as it finishes. Returns how many finished."""
    pending, it, done = set(), iter(jobs), 0
    last_report = time.time()
    while True:
        while len(pending) < workers and time.time() < deadline:
            job = next(it, None)
            if job is None:
                break
            pending.add(pool.submit(_train, *job))
        if not pending:
            return done
        finished, pending = wait(
            pending, timeout=max(0.1, min(5.0, deadline - time.time())), return_when=FIRST_COMPLETED
        )
        for fut in finished:
            sink(fut.result())
            done += 1
        if time.time() - last_report > 30:
            log(f"{label}: {done} done, {len(pending)} in flight")
            last_report = time.time()
        if time.time() >= deadline and pending:
            log(f"{label}: deadline reached with {len(pending)} in flight; they are dropped")
            for fut in pending:
                fut.cancel()
            return done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data-dir", required=True, help="folder with cifar10-jpeg.tar.gz or cifar-10-python.tar.gz")
    ap.add_argument("--deadline-s", type=float, default=420.0, help="stop starting work after this many seconds")
    ap.add_argument("--workers", type=int, default=14, help="candidates in flight (processes)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--benchmark", default=BENCH, help="live benchmark (a smaller one tries the path on a CPU)")
    ap.add_argument("--agreement-cells", type=int, default=AGREEMENT_CELLS)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--resume", type=Path, default=None, help="a proxy-n5.jsonl whose evaluations are skipped")
    ap.add_argument("--max-archs", type=int, default=None, help="stop after this many architectures")
    args = ap.parse_args()
    t_start = time.time()
    deadline = t_start + args.deadline_s
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_proxy: no CUDA device here; nothing to measure (pass --device cpu to try the path on a CPU)")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    log = Log(args.out / "log.txt")
    facts = device_facts(args.device)
    log(f"device: {json.dumps(facts)}")
    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.evaluation.networks import benchmark_splits

    t0 = time.time()
    benchmark_splits(
        get_benchmark(args.benchmark), args.data_dir
    )  # decode once here; the workers read the cached arrays
    log(f"data decoded in {time.time() - t0:.1f} s")
    cells = shuffled_space()
    seeds = [int(s) for s in args.seeds.split(",")]
    facts.update(
        workers=args.workers,
        cuda_graphs=False,
        batch_size=get_benchmark(args.benchmark).proxy.recipe.batch_size,
        benchmark=args.benchmark,
        space_size=len(cells),
        seeds=seeds,
        shuffle_seed=SHUFFLE_SEED,
    )
    ctx = __import__("multiprocessing").get_context("spawn")
    with ProcessPoolExecutor(
        args.workers, mp_context=ctx, initializer=_init_worker, initargs=(args.benchmark, args.data_dir, args.device)
    ) as pool:
        # 1. fp32 against bf16 on the first cells of the shuffle
        agree_rows: list[dict] = []
        agree_file = (args.out / "agreement.jsonl").open("a")

        def agree_sink(r: dict) -> None:
            agree_rows.append(r)
            agree_file.write(json.dumps(r) + "\n")
            agree_file.flush()

        jobs = [(c.to_dict(), 0, bf16) for c in cells[: args.agreement_cells] for bf16 in (False, True)]
        t0 = time.time()
        run_pool(pool, jobs, deadline, agree_sink, log, args.workers, "agreement")
        by = {(r["key"], r["precision"]): r["accuracy"] for r in agree_rows}
        keys = [c.key for c in cells[: args.agreement_cells] if (c.key, "fp32") in by and (c.key, "bf16") in by]
        if len(keys) >= 3:
            a, b = [by[(k, "fp32")] for k in keys], [by[(k, "bf16")] for k in keys]
            facts["agreement"] = {
                "cells": len(keys),
                "spearman": spearman(a, b),
                "mean_abs_diff": sum(abs(x - y) for x, y in zip(a, b)) / len(keys),
                "fp32_mean_wall_s": sum(r["wall_s"] for r in agree_rows if r["precision"] == "fp32")
                / max(1, len(keys)),
                "bf16_mean_wall_s": sum(r["wall_s"] for r in agree_rows if r["precision"] == "bf16")
                / max(1, len(keys)),
                "seconds": time.time() - t0,
            }
            log(f"agreement: {json.dumps(facts['agreement'])}")
        # 2. the shuffled space, two seeds each, until the deadline
        done_keys: set = set()
        if args.resume is not None and args.resume.exists():
            for line in args.resume.read_text().splitlines():
                if line.strip():
                    r = json.loads(line)
                    done_keys.add((r["key"], r["seed"]))
        order = cells[: args.max_archs] if args.max_archs else cells
        jobs = [(c.to_dict(), s, True) for c in order for s in seeds if (c.key, s) not in done_keys]
        table_file = (args.out / "proxy-n5.jsonl").open("a")
        walls: list[float] = []

        def table_sink(r: dict) -> None:
            walls.append(r["wall_s"])
            table_file.write(json.dumps(r) + "\n")
            table_file.flush()

        t0 = time.time()
        n = run_pool(pool, jobs, deadline, table_sink, log, args.workers, "table")
        minutes = (time.time() - t0) / 60
        facts["table"] = {
            "evaluations": n,
            "minutes": minutes,
            "per_gpu_minute": n / max(minutes, 1e-9),
            "median_wall_s": sorted(walls)[len(walls) // 2] if walls else None,
        }
        log(f"table: {json.dumps(facts['table'])}")
        (args.out / "gpu.json").write_text(json.dumps(facts, indent=1))
        for proc in list(pool._processes.values()):  # candidates dropped at the deadline: stop them now
            proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)
    log(f"total {time.time() - t_start:.0f} s")
    os._exit(0)  # do not wait for candidates dropped at the deadline


if __name__ == "__main__":
    main()
