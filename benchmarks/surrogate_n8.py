"""Export the N = 8 collection (``benchmarks/collect_n8.py``) as the surrogate's data set, then validate the
candidate models on it and write the figures.

    python benchmarks/surrogate_n8.py --dir /path/to/collection          # export + validate
    python benchmarks/surrogate_n8.py                                    # validate the shipped data set

Writes ``nasbench_shrink/surrogates/cifar10-small-n8-data.parquet`` (with ``--dir``) and
``benchmarks/results/surrogate-n8/validation.json``; prints the table of measures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "nasbench_shrink" / "surrogates" / "cifar10-small-n8-data.parquet"
OUT = ROOT / "benchmarks" / "results" / "surrogate-n8"


def export(collection: Path, to: Path = DATA) -> dict:
    import sqlalchemy as sa

    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.surrogates.dataset import export_dataset

    fid = get_benchmark("cifar10-small").fidelity_key("proxy")
    engine = sa.create_engine(f"sqlite:///{collection / 'cache.db'}")
    with engine.connect() as conn:
        records = [
            json.loads(r)
            for r in conn.execute(
                sa.text("select record from nbs_evaluations where fidelity = :f"), {"f": fid}
            ).scalars()
        ]
    manifest = []
    for path in sorted(collection.glob("manifest-*.jsonl")):
        manifest += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    manifest += _study_manifest(collection / "studies.db")
    meta = {
        "benchmark": "cifar10-small",
        "nodes": 8,
        "fidelity": fid,
        "command": "python benchmarks/collect_n8.py --dir DIR --role designs|strategies; "
        "python benchmarks/surrogate_n8.py --dir DIR",
        "exported": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    return export_dataset(records, manifest, to, meta)


def _study_manifest(path: Path) -> list[dict]:
    """Manifest lines of the strategy runs in the collection's studies, finished or not (a run's lines reach
    ``manifest-strategies.jsonl`` only when it ends; a run stopped midway still says where its cells came from)."""
    if not path.exists():
        return []
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{path}"
    out = []
    for summary in optuna.get_all_study_summaries(storage):
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        name, seed = study.user_attrs.get("strategy"), study.user_attrs.get("seed")
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
            a = t.user_attrs
            if "arch_key" in a:
                out.append(
                    {
                        "design": name,
                        "run": seed,
                        "step": a.get("step"),
                        "key": a["arch_key"],
                        "seed": a.get("eval_seed", seed),
                    }
                )
    return out


def step_decisions(rows) -> dict:
    """AutoShrink's decisions against the seed noise: for each step whose K candidates were all trained at the run's
    seed and two more (the collection's whole-step noise subset), which candidate each seed would keep and which
    the seed mean would; and how far apart the candidates' seed means are."""
    from collect_n8 import NOISE_SEEDS, noise_seed  # the collection's own rule (benchmarks/ is on the path)

    runs = rows[rows["design"] == "autoshrink"]
    acc = rows.groupby(["key", "seed"])["accuracy"].mean()
    steps = []
    for (run, step), g in runs.groupby(["run", "step"]):
        run = int(run)
        seeds = (run, *(noise_seed(run, s) for s in NOISE_SEEDS))
        keys = list(dict.fromkeys(g["key"]))
        try:
            table = [[float(acc[(k, sd)]) for sd in seeds] for k in keys]
        except KeyError:
            continue  # a step outside the noise subset
        means = [sum(r) / len(r) for r in table]
        by_seed = [max(range(len(keys)), key=lambda i: table[i][j]) for j in range(len(seeds))]
        best = max(range(len(keys)), key=lambda i: means[i])
        steps.append(
            {
                "run": run,
                "step": int(step),
                "candidates": len(keys),
                "winners_by_seed": by_seed,
                "seed_mean_winner": best,
                "mean_span": round(max(means) - min(means), 4),
            }
        )
    return {
        "steps": len(steps),
        "steps_with_three_different_winners": sum(len(set(x["winners_by_seed"])) == 3 for x in steps),
        "seed_picks_of_the_seed_mean_winner": sum(
            w == x["seed_mean_winner"] for x in steps for w in x["winners_by_seed"]
        ),
        "seed_picks": sum(len(x["winners_by_seed"]) for x in steps),
        "chance": round(sum(len(x["winners_by_seed"]) / x["candidates"] for x in steps), 1),
        "mean_span_range": [min(x["mean_span"] for x in steps), max(x["mean_span"] for x in steps)] if steps else [],
        "by_step": steps,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, default=None, help="collection folder to export first")
    ap.add_argument("--no-best", action="store_true", help="skip the best-known search (regret's reference)")
    ap.add_argument(
        "--collection-only",
        type=Path,
        default=None,
        help="export the collection to this file and stop: rows kept for the next export, the shipped data unchanged",
    )
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from nasbench_shrink.surrogates.dataset import load_dataset, seed_means
    from nasbench_shrink.surrogates.validation import validate

    if args.collection_only is not None:
        if args.dir is None:
            sys.exit("surrogate_n8: --collection-only needs --dir")
        info = export(args.dir, args.collection_only)
        print(f"exported {info['rows']} rows, {info['architectures']} architectures to {args.collection_only}")
        return
    if args.dir is not None:
        info = export(args.dir)
        print(f"exported {info['rows']} rows, {info['architectures']} architectures to {DATA}")
    rows, info = load_dataset(DATA)
    means = seed_means(rows)
    t0 = time.perf_counter()
    result = validate(rows, means)
    result["data"] = {k: info[k] for k in ("rows", "architectures", "sha256", "exported")}
    result["data"]["by_design"] = rows.groupby("design").size().to_dict()
    result["data"]["train_hours"] = round(float(rows["cost_s"].sum()) / 3600, 2)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    result["step_decisions"] = step_decisions(rows)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "validation.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result["data"]))
    for part in ("held_out_random", "leave_one_optimizer_out"):
        block = result[part]
        groups = block.items() if part == "leave_one_optimizer_out" else [("random+dense", block)]
        for name, g in groups:
            for model, s in g.items():
                if model == "tau_gain_over_params":
                    for m, gain in s.items():
                        print(
                            f"{part:26s} {name:12s} {m + ' - params':16s} tau gain {gain['gain']:+.3f} "
                            f"[{gain['lo']:+.3f}, {gain['hi']:+.3f}]"
                        )
                    continue
                if model == "baselines":
                    for b, bs in s.items():
                        print(
                            f"{part:26s} {name:12s} {'size: ' + b:16s} n={bs['n']:4d} tau={bs['kendall']:.3f} "
                            f"rho={bs['spearman']:.3f}"
                        )
                else:
                    print(
                        f"{part:26s} {name:12s} {model:16s} n={s['n']:4d} tau={s['kendall']:.3f} "
                        f"rho={s['spearman']:.3f} R2={s['r2']:.3f}"
                    )
    print(json.dumps(result["noise"], indent=None))
    print(json.dumps({k: v for k, v in result["step_decisions"].items() if k != "by_step"}))
    if not args.no_best:
        write_best_known()


def write_best_known() -> None:
    """The best known cell and the top-1 % threshold of the benchmark ``cifar10-small-n8`` (its regret's
    reference), beside the data set: rerun after every export."""
    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.surrogates.landscape import BEST_SUFFIX, best_known

    t0 = time.perf_counter()
    best = best_known(get_benchmark("cifar10-small-n8"))
    best["seconds"] = round(time.perf_counter() - t0, 1)
    path = DATA.with_name(DATA.name.replace("-data.parquet", BEST_SUFFIX))
    path.write_text(json.dumps(best, indent=1) + "\n")
    print(
        f"best known: score {best['best_score']:.4f} ({best['cells_scored']} cells scored in {best['seconds']} s); "
        f"top-1 % threshold {best['top1pct_threshold']:.4f}; wrote {path}"
    )


if __name__ == "__main__":
    main()
