"""Live verification of a comparison on the surrogate ``cifar10-small-n8``: train the cells its runs returned on the
live tier (``cifar10-small``, N = 8, one seed each) and set what was measured against what the surrogate predicted.

For each (strategy, seed) of the comparison's summary.csv, up to ``--per-strategy`` seeds per strategy, the run's
best cell is trained live at the run's seed through an evaluation cache of its own (so a rerun resumes, and the
cells do not enter the surrogate's training data unnoticed); ``nasbench_shrink.runs.verify`` does the work, as
``compare --verify-live N`` does after a comparison.

    python benchmarks/verify_surrogate_live.py RUN_DIR [--per-strategy 3] [--cache sqlite:///n8-verify.db]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--per-strategy", type=int, default=3)
    ap.add_argument("--cache", default="sqlite:///n8-verify.db", help="evaluation cache URL for the live trainings")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.evaluation.cache import open_cache
    from nasbench_shrink.runs.verify import verify_line, verify_live

    surrogate = get_benchmark("cifar10-small-n8")
    live = get_benchmark("cifar10-small").with_options(nodes=surrogate.nodes, k=surrogate.k)

    def said(i: int, n: int, row: dict) -> None:
        print(
            f"{i}/{n} {row['strategy']} seed {row['seed']}: predicted {row['predicted']:.4f} "
            f"measured {row['measured']:.4f}"
        )

    out = verify_live(args.run_dir, surrogate, live, args.per_strategy, open_cache(args.cache), args.data_dir, said)
    print(verify_line(out) + f"; wrote {args.run_dir}/verify-live.json")


if __name__ == "__main__":
    main()
