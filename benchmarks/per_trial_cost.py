"""Our per-trial cost on a table against Optuna's own ask/tell floor, side by side in one process.

The floor: an in-memory study with Optuna's ``RandomSampler`` asks for the same categorical parameters that a cell
has, sets the same user attrs a table trial stores and tells a value. Ours: each built-in cell strategy's whole
run on the table as a comparison makes it (sampler, objective, lookup, the rows it keeps), per trial, and also with
the study stored in SQLite (``compare --store-studies``). Ratio = ours / floor, each strategy beside its own
floor measurement, median over ``--repeats``; ``ratio_to_floor_same_runs`` takes the floor made as the runs are
(a new study per run at the strategy's trials per run: ``complete`` runs one trial per study).

    python benchmarks/per_trial_cost.py [--seeds 20] [--table cifar10-small-table] [--json PATH]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import tempfile
import time
from pathlib import Path

import optuna

from nasbench_shrink.catalogue import resolve_benchmark
from nasbench_shrink.runs.compare import run_rows
from nasbench_shrink.runs.search import SearchSpec, run_worker
from nasbench_shrink.samplers.params import search_space

CELL_STRATEGIES = ("autoshrink", "random", "ws", "er", "ba", "evolution", "complete")
OTHERS = ("tpe", "optuna-random")


def _ask_tell(study: optuna.Study, dists: dict, attrs: dict, trials: int) -> None:
    """Optuna's bare loop: ask, suggest the cell's parameters, set ``attrs``, tell."""
    for i in range(trials):
        trial = study.ask()
        for name, d in dists.items():
            trial.suggest_categorical(name, d.choices)
        for k, v in attrs.items():
            trial.set_user_attr(k, v)
        study.tell(trial, float(i % 7))


def floor_ms(table: str, attrs: dict, trials: int, seed: int) -> float:
    """Milliseconds per trial of Optuna's bare ask/tell of the cell's parameters with ``attrs`` set."""
    bench = resolve_benchmark(table)
    dists = search_space(bench.space, bench.nodes)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=seed))
    t0 = time.perf_counter()
    _ask_tell(study, dists, attrs, trials)
    return 1000 * (time.perf_counter() - t0) / trials


def floor_runs_ms(table: str, attrs: dict, trials_per_run: float, runs: int, seed: int) -> float:
    """The same floor as ``floor_ms``, made as a comparison makes its runs: a new in-memory study per run with
    ``trials_per_run`` trials (a strategy of few trials per run pays each study's set-up on few trials; so does
    Optuna's bare ask/tell)."""
    bench = resolve_benchmark(table)
    dists = search_space(bench.space, bench.nodes)
    per_run = max(1, round(trials_per_run))
    t0 = time.perf_counter()
    for r in range(runs):
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=seed + r))
        _ask_tell(study, dists, attrs, per_run)
    return 1000 * (time.perf_counter() - t0) / (runs * per_run)


def ours_ms(table: str, strategy: str, seeds: int, storage: str, store: bool) -> tuple[float, float]:
    """Milliseconds per trial and trials per run of ``strategy``'s runs at ``seeds`` seeds as a comparison makes
    them: the run, its ``trials.csv`` rows with exact regret, the rows as the plan stores them (JSON), and with
    ``store`` the study written to SQLite as well (``compare --store-studies``)."""
    bench = resolve_benchmark(table)
    land = bench.evaluator.landscape(bench)
    t0, n = time.perf_counter(), 0
    for seed in range(seeds):
        study = run_worker(
            SearchSpec(
                strategy=strategy,
                benchmark=bench,
                seed=seed,
                storage=storage,
                cache=None,
                budget_kind="flops",
                budget=2.887e11,
                store=store,
            )
        )
        trials = study.get_trials(deepcopy=False)
        json.dumps(run_rows(trials, strategy, seed, bench.metric, land))
        n += len(trials)
    return 1000 * (time.perf_counter() - t0) / n, n / seeds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--table", default="cifar10-small-table")
    ap.add_argument("--repeats", type=int, default=5, help="floor/ours alternations; the median is reported")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out: dict = {"table": args.table, "seeds": args.seeds, "strategies": {}}
    with tempfile.TemporaryDirectory() as d:
        warm = run_worker(
            SearchSpec(
                strategy="random",
                benchmark=args.table,
                seed=10_000,
                storage=f"sqlite:///{d}/warm.db",
                cache=None,
                budget_kind="evals",
                budget=3,
            )
        )  # imports, the table, the landscape
        attrs = dict(warm.get_trials(deepcopy=False)[-1].user_attrs)
        out["attrs_per_trial"] = len(attrs)
        names = CELL_STRATEGIES + OTHERS
        floors, per, stored = [], {s: [] for s in names}, {s: [] for s in names}
        ratios: dict[str, list[float]] = {s: [] for s in names}
        same_runs: dict[str, list[float]] = {s: [] for s in names}
        trials_per_run = {}
        for r in range(args.repeats):
            for s in names:  # the floor measured beside each strategy: a busy moment hits both
                gc.collect()  # each measurement starts from a collected heap (else a pass due from before lands in it)
                floor = floor_ms(args.table, attrs, 1000, seed=r)
                ms, tpr = ours_ms(args.table, s, args.seeds, f"sqlite:///{d}/r{r}.db", store=False)
                floors.append(floor)
                per[s].append(ms)
                ratios[s].append(ms / floor)
                same_runs[s].append(ms / floor_runs_ms(args.table, attrs, tpr, args.seeds, seed=r))
                stored[s].append(ours_ms(args.table, s, args.seeds, f"sqlite:///{d}/r{r}.db", store=True)[0])
                trials_per_run[s] = tpr
        out["floor_ms_per_trial"] = round(statistics.median(floors), 4)
        for s in names:
            out["strategies"][s] = {
                "ms_per_trial": round(statistics.median(per[s]), 4),
                "ratio_to_floor": round(statistics.median(ratios[s]), 3),
                "ratio_to_floor_same_runs": round(statistics.median(same_runs[s]), 3),
                "ms_per_trial_studies_stored": round(statistics.median(stored[s]), 4),
                "trials_per_run": trials_per_run[s],
                "cell_sampler": s in CELL_STRATEGIES,
            }
        cells = [out["strategies"][s]["ratio_to_floor"] for s in CELL_STRATEGIES]
        out["cell_samplers_max_ratio"] = max(cells)
        out["cell_samplers_max_ratio_same_runs"] = max(
            out["strategies"][s]["ratio_to_floor_same_runs"] for s in CELL_STRATEGIES
        )
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
