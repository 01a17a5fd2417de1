"""Performance harness: the project's speed against the floor, on this machine.

    python benchmarks/run.py [--quick] [--json PATH]

Measures, in one run:
- ratio_vs_bare_loop: training throughput of the project's loop over a bare PyTorch loop written here, same
  network, data and recipe, both stepped alternately in one thread and each step timed (drift cancels per step);
- whole_run_ratio (``--only wholerun``): the same from whole runs, alternated pairs, median of the paired ratios
  (kept for comparison: on a shared VM it swings by more than 5 % between runs);
- two_worker_speedup: candidates per hour with 2 worker processes (1 thread each) over 1 process (all cores);
- cache_hit_ms: median latency of a cache hit through the public ``evaluate`` API;
- sampler_overhead_pct: time inside AutoShrink's sampler per trial over the trial's evaluation time.
``--quick`` uses tiny sizes (CI runs it so the harness never rots); no thresholds are applied here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasbench_shrink.benchmarks.datasets import ImageSet  # noqa: E402
from nasbench_shrink.evaluation.training import (  # noqa: E402
    DeviceData,
    ImageTask,
    TrainRecipe,
    pick_device,
    train,
    training_steps,
)
from search_spaces import MacroConfig, build_cnn, complete_cell  # noqa: E402


# ------------------------------------------------------------------------------------------ loop vs bare loop
def _data(n: int, size: int, seed: int = 0) -> ImageSet:
    g = torch.Generator().manual_seed(seed)
    return ImageSet(
        torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8),
        torch.randint(0, 10, (n,), generator=g),
        tuple(str(i) for i in range(10)),
    )


def _project_run(cell, cfg, data, recipe, device, channels_last) -> float:
    torch.manual_seed(0)
    model = build_cnn(cell, cfg)
    dd = DeviceData(data, device, torch.tensor([0.5] * 3), torch.tensor([0.25] * 3), channels_last)
    task = ImageTask(dd, None, recipe)
    res = train(model, task, recipe=recipe, seed=0)
    return len(data) * res.epochs / res.seconds


def _bare_steps(model, data, recipe, device, fmt):
    """The bare loop, one step per ``next()``: a batch, forward, loss, backward, Adam step."""
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    x_all = data.x.to(device)
    y_all = data.y.to(device)
    mean = torch.full((1, 3, 1, 1), 0.5, device=device)
    std = torch.full((1, 3, 1, 1), 0.25, device=device)
    g = torch.Generator().manual_seed(0)
    for _ in range(recipe.max_epochs):
        perm = torch.randperm(len(data), generator=g).to(device)
        for s in range(0, len(data), recipe.batch_size):
            idx = perm[s : s + recipe.batch_size]
            x = ((x_all[idx].float() / 255.0 - mean) / std).contiguous(memory_format=fmt)
            loss = F.cross_entropy(model(x), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            yield


def _bare_run(cell, cfg, data, recipe, device, channels_last) -> float:
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = build_cnn(cell, cfg).to(device=device, memory_format=fmt)
    t0 = time.perf_counter()
    for _ in _bare_steps(model, data, recipe, device, fmt):
        pass
    if device.type == "cuda":
        torch.cuda.synchronize()
    return len(data) * recipe.max_epochs / (time.perf_counter() - t0)


def ratio_vs_bare_loop(quick: bool, threads: int) -> dict:
    """Both loops stepped alternately in one thread, one optimizer step at a time (the order flips every step),
    each step timed: drift of the machine falls on both loops within a second, and no second thread or OpenMP team
    competes. The ratio = bare seconds / our seconds over the same steps (our throughput over the bare
    loop's); warm-up steps are left out. The harness's headline ratio, since whole runs a minute apart drift by
    more than the 5 % it must resolve on a shared VM."""
    torch.set_num_threads(threads)
    device = pick_device()
    nodes, size, n, epochs, warm = (3, 16, 256, 2, 1) if quick else (8, 32, 1024, 8, 4)
    cell = complete_cell("cnn", nodes, seed=0)
    cfg = MacroConfig(input_size=size)
    data = _data(n, size)
    recipe = TrainRecipe(max_epochs=epochs, patience=None, min_acc_epoch=None, overfit_ratio=None, epoch_stop_acc=None)
    fmt = torch.channels_last
    torch.manual_seed(0)
    ours_model, bare_model = build_cnn(cell, cfg), build_cnn(cell, cfg).to(device=device, memory_format=fmt)
    task = ImageTask(DeviceData(data, device, torch.tensor([0.5] * 3), torch.tensor([0.25] * 3), True), None, recipe)
    loops = {
        "ours": training_steps(ours_model, task, recipe=recipe, seed=0),
        "bare": _bare_steps(bare_model, data, recipe, device, fmt),
    }
    times: dict[str, list[float]] = {"ours": [], "bare": []}
    for i in range(epochs * task.steps_per_epoch()):
        for name in ("ours", "bare") if i % 2 == 0 else ("bare", "ours"):
            t0 = time.perf_counter()
            next(loops[name])
            if device.type == "cuda":
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - t0)
    ours, bare = times["ours"][warm:], times["bare"][warm:]
    return {
        "ratio_vs_bare_loop": sum(bare) / sum(ours),
        "ratio_median_step": statistics.median(b / o for o, b in zip(ours, bare)),
        "ratio_ms_per_step": {
            "ours": round(1000 * statistics.median(ours), 2),
            "bare": round(1000 * statistics.median(bare), 2),
        },
        "ratio_settings": {
            "nodes": nodes,
            "input_size": size,
            "images": n,
            "epochs": epochs,
            "steps_timed": len(ours),
            "batch_size": recipe.batch_size,
            "threads": threads,
        },
    }


def whole_run_ratio(quick: bool, threads: int) -> dict:
    """Our loop over the bare loop, same network/data/recipe. The runs alternate and the ratio is the median of
    the paired ratios (ours_i / bare_i): on a shared VM, throughput drifts by 10-30 % between runs, and pairing
    cancels the drift that a ratio of two medians keeps."""
    torch.set_num_threads(threads)
    device = pick_device()
    nodes, size, n, repeats = (3, 16, 128, 2) if quick else (8, 32, 1024, 11)
    cell = complete_cell("cnn", nodes, seed=0)
    cfg = MacroConfig(input_size=size)
    data = _data(n, size)
    recipe = TrainRecipe(max_epochs=1, patience=None, min_acc_epoch=None, overfit_ratio=None)
    channels_last = True
    _project_run(cell, cfg, _data(128, size), recipe, device, channels_last)  # warm-up both paths
    _bare_run(cell, cfg, _data(128, size), recipe, device, channels_last)
    ours, bare = [], []
    for i in range(repeats):  # alternated, and the order flips every repeat
        pair = [("ours", _project_run), ("bare", _bare_run)]
        for name, fn in pair if i % 2 == 0 else pair[::-1]:
            (ours if name == "ours" else bare).append(fn(cell, cfg, data, recipe, device, channels_last))
    return {
        "whole_run_ratio": statistics.median(o / b for o, b in zip(ours, bare)),
        "ratio_of_medians": statistics.median(ours) / statistics.median(bare),
        "project_images_per_s": statistics.median(ours),
        "bare_images_per_s": statistics.median(bare),
        "project_runs": [round(v, 1) for v in ours],
        "bare_runs": [round(v, 1) for v in bare],
        **loop_overhead(threads),
        "whole_run_settings": {
            "nodes": nodes,
            "input_size": size,
            "images": n,
            "repeats": repeats,
            "batch_size": recipe.batch_size,
            "threads": threads,
            "channels_last": channels_last,
        },
    }


def loop_overhead(threads: int, steps: int = 400) -> dict:
    """Per-step time of both loops around a near-free model (one linear layer on 8x8 images): what the loop
    itself costs, without the network's noise."""
    torch.set_num_threads(threads)
    device = torch.device("cpu")
    data = _data(steps * 32, 8)
    recipe = TrainRecipe(
        max_epochs=1, batch_size=32, patience=None, min_acc_epoch=None, overfit_ratio=None, epoch_stop_acc=None
    )

    class Tiny(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(3 * 8 * 8, 10)

        def forward(self, x):
            return self.fc(x.flatten(1))

    def timed(loop) -> float:
        torch.manual_seed(0)
        model = Tiny()
        if loop == "ours":
            dd = DeviceData(data, device, torch.tensor([0.5] * 3), torch.tensor([0.25] * 3), False)
            return train(model, ImageTask(dd, None, recipe), recipe=recipe, seed=0).seconds / steps
        opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
        g = torch.Generator().manual_seed(0)
        t0 = time.perf_counter()
        perm = torch.randperm(len(data), generator=g)
        for s in range(steps):
            idx = perm[s * 32 : (s + 1) * 32]
            loss = F.cross_entropy(model((data.x[idx].float() / 255.0 - 0.5) / 0.25), data.y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return (time.perf_counter() - t0) / steps

    ours = statistics.median(timed("ours") for _ in range(5))
    bare = statistics.median(timed("bare") for _ in range(5))
    return {"loop_us_per_step": round(ours * 1e6, 1), "bare_loop_us_per_step": round(bare * 1e6, 1)}


# ------------------------------------------------------------------------------------------ worker scaling
def _evaluate_cells(args: tuple[list[str], int]) -> int:
    cells, threads = args
    os.environ["NASBENCH_SHRINK_THREADS"] = str(threads)
    from nasbench_shrink import evaluate
    from search_spaces import Cell

    for c in cells:
        evaluate(Cell.from_json(c), "digits", seed=0, threads=threads)
    return len(cells)


def two_worker_speedup(quick: bool) -> dict:
    import random

    from search_spaces import Cell, all_edges, random_ops

    rng = random.Random(0)
    n_cells = 2 if quick else 16
    cells = [
        Cell("cnn", 6, [e for e in all_edges(6) if rng.random() < 0.6], random_ops("cnn", 6, rng)).to_json()
        for _ in range(n_cells)
    ]
    cores = os.cpu_count() or 1
    ctx = get_context("spawn")
    rates = {}
    for workers in (1, 2):
        threads = max(1, cores // workers)
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            list(pool.map(_evaluate_cells, [([cells[0]], threads)] * workers))  # start-up and data load
            t0 = time.perf_counter()
            done = sum(pool.map(_evaluate_cells, [(cells[i::workers], threads) for i in range(workers)]))
            rates[workers] = done / (time.perf_counter() - t0) * 3600
    return {
        "two_worker_speedup": rates[2] / rates[1],
        "candidates_per_hour_1_worker": rates[1],
        "candidates_per_hour_2_workers": rates[2],
        "scaling_settings": {"candidates": n_cells, "cores": cores, "benchmark": "digits", "nodes": 6},
    }


# ------------------------------------------------------------------------------------------ cache and sampler
def cache_hit_ms(quick: bool) -> dict:
    from nasbench_shrink import EvaluationCache, evaluate
    from search_spaces import Cell

    cell = Cell("cnn", 3, [(0, 1), (1, 2)], ["input", "conv1x1", "sep3x3"])
    with tempfile.TemporaryDirectory() as d:
        cache = EvaluationCache(f"sqlite:///{d}/cache.db")
        evaluate(cell, "digits", seed=0, cache=cache)
        times = []
        for _ in range(50 if quick else 300):
            t0 = time.perf_counter()
            rec = evaluate(cell, "digits", seed=0, cache=cache)
            times.append((time.perf_counter() - t0) * 1000)
            assert rec.cache_hit
        cache.close()
    return {"cache_hit_ms": statistics.median(times), "cache_hit_p95_ms": sorted(times)[int(0.95 * len(times))]}


def sampler_overhead_pct(quick: bool) -> dict:
    import optuna

    from nasbench_shrink import EvaluationCache
    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.runs.objective import CellObjective
    from nasbench_shrink.samplers.autoshrink import AutoShrinkSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spent = {"sampler": 0.0, "objective": 0.0}

    class Timed(AutoShrinkSampler):
        def before_trial(self, study, trial):
            t0 = time.perf_counter()
            super().before_trial(study, trial)
            spent["sampler"] += time.perf_counter() - t0

        def sample_relative(self, study, trial, search_space):
            t0 = time.perf_counter()
            out = super().sample_relative(study, trial, search_space)
            spent["sampler"] += time.perf_counter() - t0
            return out

        def after_trial(self, study, trial, state, values):
            t0 = time.perf_counter()
            super().after_trial(study, trial, state, values)
            spent["sampler"] += time.perf_counter() - t0

    nodes, k = (3, 2) if quick else (5, 3)
    with tempfile.TemporaryDirectory() as d:
        objective = CellObjective(
            get_benchmark("digits"), nodes=nodes, seed=0, cache=EvaluationCache(f"sqlite:///{d}/c.db")
        )

        def timed_objective(trial):
            t0 = time.perf_counter()
            try:
                return objective(trial)
            finally:
                spent["objective"] += time.perf_counter() - t0

        study = optuna.create_study(
            direction="maximize", storage=f"sqlite:///{d}/s.db", sampler=Timed("cnn", nodes=nodes, k=k, seed=0)
        )
        study.optimize(timed_objective, n_trials=200)
        trials = len(study.trials)
    return {
        "sampler_overhead_pct": 100 * spent["sampler"] / spent["objective"],
        "sampler_ms_per_trial": 1000 * spent["sampler"] / trials,
        "sampler_settings": {"nodes": nodes, "k": k, "trials": trials, "storage": "sqlite"},
    }


# ------------------------------------------------------------------------------------------ main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, for CI")
    ap.add_argument("--json", default=None, help="write the figures here")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--only", default=None, help="comma-separated parts: ratio,wholerun,scaling,cache,sampler")
    a = ap.parse_args()
    only = set(a.only.split(",")) if a.only else None
    dev = pick_device()
    out = {
        "device": torch.cuda.get_device_name()
        if dev.type == "cuda"
        else f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "quick": a.quick,
    }
    for name, fn in [
        ("ratio", lambda: ratio_vs_bare_loop(a.quick, a.threads)),
        ("wholerun", lambda: whole_run_ratio(a.quick, a.threads)),
        ("scaling", lambda: two_worker_speedup(a.quick)),
        ("cache", lambda: cache_hit_ms(a.quick)),
        ("sampler", lambda: sampler_overhead_pct(a.quick)),
    ]:
        if only is not None and name not in only:
            continue
        t0 = time.perf_counter()
        out.update(fn())
        print(f"[{name} measured in {time.perf_counter() - t0:.1f} s]", file=sys.stderr)
    targets = {
        "ratio_vs_bare_loop": (">=", 0.95),
        "two_worker_speedup": (">=", 1.7),
        "cache_hit_ms": ("<=", 5.0),
        "sampler_overhead_pct": ("<=", 2.0),
    }
    print(f"{'figure':<24}{'value':>12}  target")
    for key, (op, target) in targets.items():
        if key not in out:
            continue
        print(f"{key:<24}{out[key]:>12.3f}  {op} {target}")
    print(f"device: {out['device']}, torch {out['torch']}")
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
