"""A surrogate benchmark's evaluator: answers a cell in microseconds from the fitted surrogate, as a table answers
from its rows.

A proxy query is one seed's value: the predicted seed mean plus the noise model's deviation, drawn from a seed
fixed by (run seed, architecture key), so a repeat inside a run answers the same and two runs see different
seeds, as on a table. MACs, params and training FLOPs are counted exactly from the cell (``search_spaces.cnn_cost``);
the charged seconds are the surrogate's line in those FLOPs. A ``final`` query is the predicted seed-mean held-out
test accuracy, charged nothing (a table's convention).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.errors import BenchmarkError
from nasbench_shrink.evaluation.evaluator import EvalRecord, Evaluator
from nasbench_shrink.surrogates.dataset import load_dataset_meta
from nasbench_shrink.surrogates.features import cell_features
from search_spaces.cnn_cost import cnn_resources

if TYPE_CHECKING:
    from nasbench_shrink.surrogates.model import FittedSurrogate

__all__ = ["SHIPPED_SURROGATES_DIR", "SurrogateLookup", "surrogate_benchmark"]

SHIPPED_SURROGATES_DIR = Path(__file__).resolve().parent
DATA_SUFFIX = "-data"  # cifar10-small-n8-data.parquet is the data of the benchmark cifar10-small-n8


@lru_cache(maxsize=4)
def _fitted(path: Path, sha256: str) -> FittedSurrogate:
    """One fit per data set and process (the fit is deterministic; the checksum keys a changed file anew). The
    model's module (scikit-learn, scipy) is imported here, at the first query, not when benchmarks are listed."""
    from nasbench_shrink.surrogates.model import fit_surrogate

    return fit_surrogate(path)


class SurrogateLookup(Evaluator):
    """Answer evaluations from the surrogate fitted on the data set at ``path``."""

    cacheable = False
    instant = True
    predicts = True
    default_seeds = None  # as a table: lookups are cheap, the default seeds are chosen by power

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._meta: dict[str, Any] | None = None
        self._answers: dict[tuple[str, str], tuple[int, int, float, float, float, float]] = {}
        self._landscapes: dict[tuple[str, float], Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "_meta": None,
            "_answers": {},
            "_landscapes": {},
        }  # a worker fits (or finds) the surrogate itself

    @property
    def meta(self) -> dict[str, Any]:
        if self._meta is None:
            self._meta = load_dataset_meta(self.path)
        return self._meta

    @property
    def surrogate(self) -> FittedSurrogate:
        return _fitted(self.path, self.meta["sha256"])

    def describe(self) -> dict[str, Any]:
        """Facts from the data set's metadata (listing benchmarks does not fit the surrogate)."""
        m = self.meta
        return {
            "live": m["benchmark"],
            "surrogate_nodes": m["nodes"],
            "data": str(self.path),
            "architectures_trained": m["architectures"],
            "rows": m["rows"],
            "model": "random forest on invariant cell features (docs/fidelity.md)",
        }

    def landscape(self, bench: Benchmark) -> Any:
        """True scores against the best known cell shipped beside the data (``surrogates.landscape``); one per
        benchmark and λ in a process, so the cells a comparison shows it stay known to its report."""
        from nasbench_shrink.surrogates.landscape import BEST_SUFFIX, load_best_known

        memo = (bench.fidelity_key("proxy"), bench.lam)
        if memo not in self._landscapes:
            best = self.path.with_name(self.path.name.replace(f"{DATA_SUFFIX}.parquet", BEST_SUFFIX))
            self._landscapes[memo] = load_best_known(best, bench)
        return self._landscapes[memo]

    def seed_for(self, run_seed: int, arch_key: str) -> int:
        """The seed of the noise draw a run sees for an architecture: fixed by both, as a table's recorded seed."""
        digest = hashlib.blake2b(f"surrogate-query:{run_seed}:{arch_key}".encode(), digest_size=4).digest()
        return int.from_bytes(digest, "little")

    def answer(self, cell, bench: Benchmark) -> tuple[int, int, float, float, float, float]:
        """(MACs, params, mean accuracy, mean test accuracy, train FLOPs, seconds) of a cell, once per key."""
        memo = (bench.fidelity_key("proxy"), cell.key)
        known = self._answers.get(memo)
        if known is None:
            s = self.surrogate
            pruned = cell.pruned()  # once: both below prune again, which a pruned cell answers at once
            r = cnn_resources(pruned, bench.proxy.network)
            acc, test = s.predict(cell_features(pruned, r.macs, r.params))
            flops = 3.0 * r.macs * s.train_examples
            known = self._answers[memo] = (r.macs, r.params, acc, test, flops, s.seconds(flops))
        return known

    def run(self, cell, bench, stage, seed, data_dir=None, device=None, threads=None, on_epoch=None) -> EvalRecord:
        meta = self.meta
        if cell.space != "cnn" or cell.nodes != meta["nodes"]:
            raise BenchmarkError(
                f"surrogate {bench.name} answers {meta['nodes']}-node cnn cells; the cell has {cell.nodes} nodes "
                f"({cell.space}): pass a {meta['nodes']}-node cell or a live benchmark"
            )
        macs, params, acc, test, flops, seconds = self.answer(cell, bench)
        final = stage == "final"
        if not final:
            acc += self.surrogate.noise_sd * random.Random(seed).gauss(0.0, 1.0)
        resource = bench.score_resource(cell, macs)
        rec = EvalRecord(
            key=cell.key,
            benchmark=bench.name,
            fidelity=meta["fidelity"],
            stage=stage,
            seed=seed,
            **bench.kind.perf_fields(test if final else acc, False),
            score=0.0,
            macs=macs,
            params=params,
            resource=resource,
            cost_s=0.0 if final else seconds,
            train_flops=0.0 if final else flops,
            epochs=bench.proxy.recipe.max_epochs,
            train_images=self.surrogate.train_examples // max(1, bench.proxy.recipe.max_epochs),
            trained_examples=self.surrogate.train_examples,
            diverged=False,
            stop_reason="surrogate",
            device="surrogate",
            cell=cell.to_dict(),
            test_perf=test,
        )
        rec.score = bench.score(rec.perf, resource)
        return rec


def surrogate_benchmark(name: str, path: str | Path, live: Benchmark) -> Benchmark:
    """A benchmark answered by the surrogate fitted on the data set at ``path``, trained on ``live``."""
    meta = load_dataset_meta(Path(path))
    if meta["fidelity"] != live.fidelity_key("proxy"):
        raise BenchmarkError(
            f"surrogate data {path} was trained under fidelity {meta['fidelity']}, but {live.name} is now "
            f"{live.fidelity_key('proxy')}: the code changed what an evaluation means; collect the data again"
        )
    nodes = int(meta["nodes"])
    return replace(
        live,
        name=name,
        nodes=nodes,
        k=10,  # the paper's K at N = 8 (§4.1)
        random_graph_nodes=nodes,
        evaluator=SurrogateLookup(path),
        description=f"{live.name} N = {nodes} as a surrogate (random forest fitted on {meta['architectures']} "
        f"trained architectures, one seed's noise drawn per query): lookups, no training",
    )
