"""Zero-cost proxies of a cell on a benchmark: eleven scores of the untrained network, each timed.

The network is the benchmark's own proxy-stage network (``evaluation.networks``), initialised with
``torch.manual_seed(seed)`` afresh for each proxy (a proxy may change the network's state), in float32 on the CPU;
the minibatch is ``BATCH`` examples of the benchmark's proxy training split drawn with a generator seeded by
``seed``, normalised as for training. So a proxy's value is a function of (cell, benchmark, seed). The definitions
and their sources are in ``proxies.measures``; ``params`` and ``macs`` are the counts the tables already hold.

Example:
    >>> PROXIES[:3], BATCH, PROXY_SEED
    (('synflow', 'snip', 'grad_norm'), 64, 0)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.errors import UserError
from search_spaces import Cell

if TYPE_CHECKING:  # torch is imported where a proxy is computed: the registry names proxy strategies without it
    import torch

__all__ = ["BATCH", "PROXIES", "PROXY_SEED", "compute_proxies", "proxy_batch"]

PROXIES = ("synflow", "snip", "grad_norm", "fisher", "grasp", "jacov", "nwot", "zen", "l2_norm", "params", "macs")
BATCH = 64
PROXY_SEED = 0


def proxy_batch(
    bench: Benchmark, data_dir: str | Path | None = None, size: int = BATCH, seed: int = PROXY_SEED
) -> tuple[torch.Tensor, torch.Tensor]:
    """``size`` examples of ``bench``'s proxy training split (drawn with a generator seeded by ``seed``),
    normalised as for training: (x float32 N×C×H×W, y int64)."""
    import torch

    from nasbench_shrink.evaluation.networks import benchmark_splits

    if bench.task != "image":  # (a task kind's trait would be the place once language models get proxies)
        raise UserError(
            f"zero-cost proxies are defined here for image benchmarks; {bench.name} is a {bench.task} benchmark"
        )
    train = benchmark_splits(bench, data_dir).proxy_train
    idx = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:size]
    x = train.x[idx].float() / 255.0
    mean = torch.tensor(bench.mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(bench.std, dtype=torch.float32).view(1, -1, 1, 1)
    return (x - mean) / std, train.y[idx].long()


def compute_proxies(
    cell: Cell,
    bench: Benchmark,
    data_dir: str | Path | None = None,
    seed: int = PROXY_SEED,
    batch: tuple[torch.Tensor, torch.Tensor] | None = None,
    names: tuple[str, ...] = PROXIES,
) -> dict[str, dict[str, float]]:
    """``{proxy: {"value": v, "seconds": s}}`` of ``cell`` on ``bench`` (see the module's note)."""
    import torch

    from nasbench_shrink.evaluation.networks import networks_of
    from nasbench_shrink.proxies.measures import MEASURES

    unknown = [n for n in names if n not in PROXIES]
    if unknown:
        raise UserError(f"unknown proxy {unknown[0]!r}; choose from {', '.join(PROXIES)}")
    x, y = batch if batch is not None else proxy_batch(bench, data_dir, seed=seed)
    nets = networks_of(bench)
    network = nets.network(bench, bench.stage("proxy"), data_dir)
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        t0 = time.perf_counter()
        if name in ("params", "macs"):
            macs, params = nets.resources(cell, network)
            value = float(params if name == "params" else macs)
        else:
            torch.manual_seed(seed)
            model = nets.build(cell, network)
            value = MEASURES[name](model, x, y)
        out[name] = {"value": float(value), "seconds": time.perf_counter() - t0}
    return out
