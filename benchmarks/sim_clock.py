"""The simulated clock's overhead: every built-in strategy x 25 seeds at W = 16 on cifar10-small-table, against
the same comparison run sequentially; simulated trials per second of real time, and both commands' wall time.

    python benchmarks/sim_clock.py [--seeds 0-24] [--workers-sim 16] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd


def run(args: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "nasbench_shrink.cli", *args, "--format", "csv"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--benchmark", default="cifar10-small-table")
    p.add_argument("--seeds", default="0-24")
    p.add_argument("--workers-sim", type=int, default=16)
    p.add_argument("--json", type=Path)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        seq, sim = Path(tmp) / "seq", Path(tmp) / "sim"
        base = ["compare", "-b", a.benchmark, "--seeds", a.seeds]
        seq_s = run([*base, "--out", str(seq)])
        sim_s = run([*base, "--workers-sim", str(a.workers_sim), "--out", str(sim)])
        trials = len(pd.read_csv(sim / "trials.csv"))
        search_s = json.loads((sim / "compare.json").read_text())["phases_s"]["searches_and_finals"]
    out = {
        "benchmark": a.benchmark,
        "seeds": a.seeds,
        "workers_sim": a.workers_sim,
        "simulated_trials": trials,
        "sequential_command_s": round(seq_s, 1),
        "simulated_command_s": round(sim_s, 1),
        "search_phase_s": search_s,
        "simulated_trials_per_s_of_search_phase": round(trials / search_s, 1),
        "simulated_trials_per_s_of_command": round(trials / sim_s, 1),
    }
    print(json.dumps(out, indent=2))
    if a.json:
        a.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
