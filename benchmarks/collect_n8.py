"""Training data for the N = 8 surrogate of ``cifar10-small``: cells from several designs, one seed each, plus a
noise subset at three seeds, all through one evaluation cache (resumable: a rerun skips what the cache holds).

Two roles run side by side, one process each (the cache is shared, so nothing is trained twice):

- ``designs``: a seeded, endless sequence that alternates ``random`` (each edge kept with p = 1/2, random ops:
  what the ``random`` strategy proposes) and ``dense`` (edge-keep probability drawn from U(0.5, 1), as AutoShrink's
  early steps are); every 8th cell is also trained at seeds 1 and 2 (the noise subset).
- ``strategies``: live runs at N = 8 of AutoShrink (K = 10, to the end), regularized evolution and TPE (150
  evaluations each), seeds 0, 1, 2, ...; after each AutoShrink run, all K candidates of three of its steps are
  trained again at two more seeds (whole steps in the noise subset).

Every evaluation is also a line of ``manifest-<role>.jsonl`` (design, run, step, key, seed, cell), so the data set
says where each cell came from. Validation is recorded at every quarter epoch (rungs for pruners; outside the
charged cost, and the trained network is the same: ``tests/evaluation/test_training.py``).

    python benchmarks/collect_n8.py --dir results/n8 --role designs &
    python benchmarks/collect_n8.py --dir results/n8 --role strategies &
    python benchmarks/collect_n8.py --dir results/n8 --status

``--first autoshrink:4`` starts the strategies' sequence at that run (a second strategies process on a free core).

On a machine without the collection folder, ``--import nasbench_shrink/surrogates/cifar10-small-n8-data.parquet``
loads the shipped data set into a new folder's cache and manifests first; the roles then continue where it ended
(a strategy run replays its finished evaluations from the cache, free).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

BENCH = "cifar10-small"
NODES = 8
K = 10
NOISE_EVERY = 8  # every 8th design cell is trained at seeds 0, 1, 2
NOISE_SEEDS = (1, 2)
STRATEGY_EVALS = 150  # evolution and TPE: about what one AutoShrink run at N = 8, K = 10 trains
NOISE_STEPS = (0, 4, 9)  # AutoShrink steps whose K candidates are all trained again at NOISE_SEEDS


def noise_seed(run: int, s: int) -> int:
    """The ``s``-th extra seed (1, 2) at which a strategy run's whole steps are trained again: not the run's own."""
    return run + 100 * s


def design_cell(index: int):
    """The ``index``-th cell of the designs sequence (same on every machine)."""
    from search_spaces import Cell, all_edges, random_ops

    rng = random.Random(f"n8-design-{index}")
    design = "random" if index % 2 == 0 else "dense"
    p = 0.5 if design == "random" else rng.uniform(0.5, 1.0)
    edges = [e for e in all_edges(NODES) if rng.random() < p]
    return design, Cell("cnn", NODES, edges, random_ops("cnn", NODES, rng))


class Manifest:
    """Append-only JSON lines; knows what it holds so a resumed role does not write a line twice."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: set[tuple] = set()
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    d = json.loads(line)
                    self.seen.add((d["design"], d["run"], d["key"], d["seed"]))

    def add(
        self,
        design: str,
        run: int,
        key: str,
        seed: int,
        cell: dict,
        step: int | None = None,
        cost_s: float | None = None,
    ) -> None:
        if (design, run, key, seed) in self.seen:
            return
        self.seen.add((design, run, key, seed))
        with self.path.open("a") as f:
            f.write(
                json.dumps(
                    {
                        "design": design,
                        "run": run,
                        "step": step,
                        "key": key,
                        "seed": seed,
                        "cell": cell,
                        "cost_s": cost_s,
                        "t": round(time.time(), 1),
                    }
                )
                + "\n"
            )


def log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)


def run_designs(args, bench, cache) -> None:
    from nasbench_shrink.evaluation import evaluate

    manifest = Manifest(args.dir / "manifest-designs.jsonl")
    t0, done = time.time(), 0
    for index in range(args.start, args.max_cells):
        design, cell = design_cell(index)
        seeds = (0, *NOISE_SEEDS) if index % NOISE_EVERY == 0 else (0,)
        for seed in seeds:
            rec = evaluate(cell, bench, seed=seed, cache=cache, data_dir=args.data_dir, threads=args.threads)
            manifest.add(design, index, rec.key, seed, cell.to_dict(), cost_s=rec.cost_s)
            done += 0 if rec.cache_hit else 1
        if index % 10 == 0:
            rate = done / max(time.time() - t0, 1e-9) * 3600
            log(
                f"designs: cell {index} ({design}, {len(cell.active_edges)} edges) acc {rec.accuracy:.3f}; "
                f"{done} trained this session, {rate:.0f}/h"
            )


def _strategy_runs(max_seeds: int, first: tuple[str, int] | None = None):
    """The strategies' runs in order; ``first`` (("autoshrink", 4)) starts the sequence at that run, so a second
    process can run ahead on another core (the cache is shared: the first process then replays it for free)."""
    runs = [(name, seed) for seed in range(max_seeds) for name in ("autoshrink", "evolution", "tpe")]
    yield from runs[runs.index(first) :] if first is not None else runs


def _parse_first(text: str | None, max_seeds: int) -> tuple[str, int] | None:
    """``--first NAME:SEED`` as a run of the sequence, or one line saying what is wrong."""
    if text is None:
        return None
    name, _, seed = text.partition(":")
    runs = list(_strategy_runs(max_seeds))
    if not seed.isdigit() or (name, int(seed)) not in runs:
        sys.exit(
            f"collect_n8: --first {text} is not one of the runs; pass NAME:SEED with NAME autoshrink, evolution or "
            f"tpe and SEED below --max-seeds ({max_seeds}), e.g. autoshrink:4"
        )
    return name, int(seed)


def run_strategies(args, bench, cache) -> None:
    import optuna

    from nasbench_shrink.evaluation import evaluate
    from nasbench_shrink.runs.search import SearchSpec, run_search
    from search_spaces import Cell

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    manifest = Manifest(args.dir / "manifest-strategies.jsonl")
    storage = f"sqlite:///{args.dir / 'studies.db'}"
    cache_url = f"sqlite:///{args.dir / 'cache.db'}"
    for name, seed in _strategy_runs(args.max_seeds, args.first):
        t0 = time.time()
        budget = {} if name == "autoshrink" else {"budget_kind": "evals", "budget": float(STRATEGY_EVALS)}
        spec = SearchSpec(
            name,
            BENCH,
            seed=seed,
            storage=storage,
            nodes=NODES,
            k=K if name == "autoshrink" else None,
            data_dir=args.data_dir,
            cache=cache_url,
            **budget,
        )
        study = run_search(spec)
        steps: dict[int, list] = {}
        for t in study.trials:
            if t.state != optuna.trial.TrialState.COMPLETE or "arch_key" not in t.user_attrs:
                continue
            step = t.user_attrs.get("step")
            manifest.add(
                name,
                seed,
                t.user_attrs["arch_key"],
                t.user_attrs.get("eval_seed", seed),
                t.user_attrs["cell"],
                step=step,
                cost_s=t.user_attrs.get("cost_s"),
            )
            if step is not None:
                steps.setdefault(step, []).append(t.user_attrs["cell"])
        log(f"strategies: {name} seed {seed}: {len(study.trials)} trials in {time.time() - t0:.0f} s")
        for step in NOISE_STEPS:
            for raw in steps.get(step, []):
                cell = Cell.from_dict(raw)
                for s in NOISE_SEEDS:
                    extra = noise_seed(seed, s)
                    rec = evaluate(cell, bench, seed=extra, cache=cache, data_dir=args.data_dir, threads=args.threads)
                    manifest.add(f"{name}-step-noise", seed, rec.key, extra, raw, step=step, cost_s=rec.cost_s)
            if steps.get(step):
                log(f"strategies: {name} seed {seed} step {step}: {len(steps[step])} candidates at 2 more seeds")


def import_dataset(args) -> None:
    """Seed a collection folder from an exported data set: its rows into the cache, its designs into manifests."""
    import pandas as pd

    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.evaluation.cache import cache_key, open_cache
    from nasbench_shrink.evaluation.evaluator import EvalRecord
    from nasbench_shrink.surrogates.dataset import load_dataset

    rows, info = load_dataset(args.import_path)
    bench = get_benchmark(BENCH)
    fid = bench.fidelity_key("proxy")
    if info.get("fidelity") not in (None, fid):
        sys.exit(f"collect_n8: {args.import_path} was trained under {info['fidelity']}, not {fid}")
    cache = open_cache(f"sqlite:///{args.dir / 'cache.db'}")
    manifests = {role: Manifest(args.dir / f"manifest-{role}.jsonl") for role in ("designs", "strategies")}
    added = 0
    for r in rows.itertuples():
        cell = json.loads(r.cell)
        rec = EvalRecord(
            key=r.key,
            benchmark=BENCH,
            fidelity=fid,
            stage="proxy",
            seed=int(r.seed),
            accuracy=None if r.diverged else float(r.accuracy),
            score=0.0,
            macs=int(r.macs),
            params=int(r.params),
            resource=int(r.macs),
            cost_s=float(r.cost_s),
            train_flops=float(r.train_flops),
            epochs=int(r.epochs),
            train_images=4500,
            trained_examples=round(r.train_flops / (3 * r.macs)),
            diverged=bool(r.diverged),
            stop_reason=r.stop_reason,
            device="cpu",
            cell=cell,
            curve=json.loads(r.curve),
            test_perf=None if pd.isna(r.test_accuracy) else float(r.test_accuracy),
            machine=r.machine,
            rungs=json.loads(r.rungs),
        )
        added += cache.put(cache_key(r.key, fid, int(r.seed)), r.key, fid, int(r.seed), rec.to_dict())
        role = "designs" if r.design in ("random", "dense") else "strategies"
        run = None if pd.isna(r.run) else int(r.run)
        step = None if pd.isna(r.step) else int(r.step)
        manifests[role].add(r.design, run, r.key, int(r.seed), cell, step=step, cost_s=float(r.cost_s))
        for other in set(r.designs.split(",")) - {r.design}:  # the same architecture drawn by another design too
            role = "designs" if other in ("random", "dense") else "strategies"
            manifests[role].add(other, None, r.key, int(r.seed), cell, cost_s=float(r.cost_s))
    log(f"imported {added} of {len(rows)} rows from {args.import_path}")


def status(args) -> None:
    rows = []
    for path in sorted(args.dir.glob("manifest-*.jsonl")):
        rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    keys = {r["key"] for r in rows}
    by_design: dict[str, int] = {}
    for r in rows:
        by_design[r["design"]] = by_design.get(r["design"], 0) + 1
    seeds_per_key: dict[str, set] = {}
    for r in rows:
        seeds_per_key.setdefault(r["key"], set()).add(r["seed"])
    print(
        json.dumps(
            {
                "evaluations": len(rows),
                "distinct_architectures": len(keys),
                "architectures_with_3plus_seeds": sum(len(s) >= 3 for s in seeds_per_key.values()),
                "by_design": by_design,
                "train_seconds": round(sum(r["cost_s"] or 0 for r in rows), 1),
            },
            indent=1,
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, required=True, help="collection folder (cache.db, studies.db, manifests)")
    ap.add_argument("--role", choices=["designs", "strategies"])
    ap.add_argument("--status", action="store_true", help="print what has been collected and exit")
    ap.add_argument(
        "--import",
        dest="import_path",
        type=Path,
        default=None,
        help="load an exported data set into the folder first (then continue with --role)",
    )
    ap.add_argument("--data-dir", default=None, help="data directory (else $NASBENCH_SHRINK_DATA or the user cache)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rungs", type=int, default=4, help="validation points per epoch (1: the epochs' own)")
    ap.add_argument("--start", type=int, default=0, help="designs: first index")
    ap.add_argument("--max-cells", type=int, default=4000, help="designs: stop before this index")
    ap.add_argument("--max-seeds", type=int, default=5, help="strategies: runs per strategy")
    ap.add_argument("--first", default=None, help="strategies: start at this run, NAME:SEED (e.g. autoshrink:4)")
    args = ap.parse_args()
    args.first = _parse_first(args.first, args.max_seeds)
    if args.status:
        status(args)
        return
    if args.import_path is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        import_dataset(args)
        if args.role is None:
            return
    if args.role is None:
        sys.exit("collect_n8: pass --role designs|strategies (or --status)")
    args.dir.mkdir(parents=True, exist_ok=True)
    os.environ["NASBENCH_SHRINK_THREADS"] = str(args.threads)
    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.evaluation.cache import open_cache
    from nasbench_shrink.evaluation.evaluator import record_rungs

    record_rungs(args.rungs)
    bench = get_benchmark(BENCH)
    cache = open_cache(f"sqlite:///{args.dir / 'cache.db'}")
    log(f"{args.role}: {BENCH} N = {NODES}, cache {args.dir / 'cache.db'} holds {len(cache)} records")
    (run_designs if args.role == "designs" else run_strategies)(args, bench, cache)


if __name__ == "__main__":
    main()
