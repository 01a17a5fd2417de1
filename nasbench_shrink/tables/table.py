"""Tabular benchmarks: every architecture of a small space trained in advance, answered by lookup.

A table is one Parquet file: one row per (architecture, seed) with the representative cell, MACs, params, the
proxy curve, best validation value, the proxy-trained network's held-out test value, seconds, FLOPs, epochs and
stop reason; its schema metadata holds the live benchmark and fidelity key it was computed under, versions,
device, threads, date, commit, row counts and a sha256 of the rows that loading checks.

``TableLookup`` is the second implementation of ``evaluation.Evaluator``: ``evaluate()`` on a table benchmark
answers from the file — no training — with the recorded seconds and FLOPs as its cost, so budgets mean what they
mean live. Evaluation noise follows NAS-Bench-101: each query returns one recorded seed, drawn from the run's seed
and the architecture's key, so within one run an architecture always answers with the same row, as the live
benchmark's cache would return the same record. λ is applied at query time, so one table serves every λ.

Example:
    >>> from nasbench_shrink.tables.table import table_seed
    >>> table_seed((0, 1, 2), run_seed=0, arch_key="ab12") == table_seed((0, 1, 2), run_seed=0, arch_key="ab12")
    True
"""

from __future__ import annotations

import hashlib
import json
import platform
import random
import subprocess
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.errors import UserError
from nasbench_shrink.evaluation.evaluator import EvalRecord, Evaluator
from nasbench_shrink.evaluation.machine import cpu_model
from nasbench_shrink.tables.fronts import true_fronts
from search_spaces.cell import Cell

__all__ = [
    "Table",
    "TableError",
    "TableLookup",
    "load_table",
    "normalised_costs",
    "table_benchmark",
    "table_seed",
    "write_table",
]

# Format 4: every row names its machine, with ``arch_cost_s`` (the architecture's seconds on the reference
# machine); the metadata holds the exact accuracy-against-cost fronts (``tables.fronts``); zero-cost proxy columns
# (``zc_<proxy>`` and its seconds ``zc_<proxy>_s``) may follow, named in the metadata; all inside the sha256.
# Every shipped table is format 4; an older file is refused with the command that regenerates it.
FORMAT = 4
META_KEY = b"nasbench_shrink"
COLUMNS = (
    "key",
    "seed",
    "cell",
    "edges",
    "macs",
    "params",
    "resource",
    "perf",
    "test_perf",
    "cost_s",
    "train_flops",
    "epochs",
    "trained_examples",
    "train_images",
    "stop_reason",
    "diverged",
    "curve",
    "machine",
    "arch_cost_s",
)
COST_RULE = (
    "arch_cost_s = mean over the architecture's rows of cost_s / factor(machine of the row); the "
    "reference machine is the one that recorded the most rows (ties: the one of the lowest seed), factor "
    "1; another machine's factor is the median, over architectures recorded on both, of its seconds over "
    "the reference machine's"
)


class TableError(UserError):
    """A table file that is missing, corrupt, or does not cover what was asked."""


def table_seed(seeds: tuple[int, ...], run_seed: int, arch_key: str) -> int:
    """The recorded seed a query answers with: drawn from the run's seed and the architecture (NAS-Bench-101's
    noise, fixed per architecture within a run)."""
    return random.Random(f"table-query:{run_seed}:{arch_key}").choice(sorted(seeds))


def _row_of(rec: EvalRecord) -> dict[str, Any]:
    return {
        "key": rec.key,
        "seed": rec.seed,
        "cell": json.dumps(rec.cell),
        "edges": len(Cell.from_dict(rec.cell).active_edges),
        "macs": rec.macs,
        "params": rec.params,
        "resource": rec.resource,
        "perf": rec.perf,
        "test_perf": rec.test_perf,
        "cost_s": rec.cost_s,
        "train_flops": rec.train_flops,
        "epochs": rec.epochs,
        "trained_examples": rec.trained_examples,
        "train_images": rec.train_images,
        "stop_reason": rec.stop_reason,
        "diverged": rec.diverged,
        "curve": json.dumps(rec.curve),
        "machine": rec.machine,
    }


def proxy_columns(names) -> tuple[str, ...]:
    """The columns that hold proxies ``names``: each value, then each one's seconds."""
    return tuple(f"zc_{n}" for n in names) + tuple(f"zc_{n}_s" for n in names)


def _present(proxies: dict[str, Any] | None = None) -> tuple[str, ...]:
    return COLUMNS + proxy_columns(proxies["names"]) if proxies else COLUMNS


def _digest(columns: dict[str, list], pareto: dict[str, Any] | None, proxies: dict[str, Any] | None = None) -> str:
    """The sha256 loading checks: of the rows, the fronts the metadata states, and the proxy columns and how they
    were computed."""
    content: dict[str, Any] = {c: columns[c] for c in _present(proxies)}
    content["pareto"] = pareto
    if proxies:
        content["proxies"] = proxies
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _fronts(columns: dict[str, list], higher_is_better: bool) -> dict[str, Any]:
    return true_fronts(
        columns["key"], columns["perf"], columns["diverged"], columns["macs"], columns["params"], higher_is_better
    )


def normalised_costs(
    keys: list[str], seeds: list[int], cost_s: list[float], machines: list[str]
) -> tuple[list[float], dict[str, Any]]:
    """Each row's ``arch_cost_s`` (see ``COST_RULE``): the seconds of a table are a property of the architecture,
    not of the seed a query draws nor of the machine that seed was trained on."""
    import numpy as np

    rows_of: dict[str, list[int]] = {}
    for i, m in enumerate(machines):
        rows_of.setdefault(m, []).append(i)
    if not rows_of:  # an empty (partial) table
        return [], {"reference_machine": None, "machine_factors": {}, "rule": COST_RULE}
    reference = min(rows_of, key=lambda m: (-len(rows_of[m]), min(seeds[i] for i in rows_of[m]), m))
    on_ref: dict[str, list[float]] = {}
    for i in rows_of[reference]:
        on_ref.setdefault(keys[i], []).append(cost_s[i])
    factors = {reference: 1.0}
    for m, idx in rows_of.items():
        if m == reference:
            continue
        ratios = [cost_s[i] / float(np.mean(on_ref[keys[i]])) for i in idx if keys[i] in on_ref]
        if not ratios:  # no architecture in common: the ratio of the medians
            ratios = [
                float(np.median([cost_s[i] for i in idx])) / float(np.median(cost_s[j] for j in rows_of[reference]))
            ]
        factors[m] = float(np.median(ratios))
    per_key: dict[str, list[float]] = {}
    for i, k in enumerate(keys):
        per_key.setdefault(k, []).append(cost_s[i] / factors[machines[i]])
    mean = {k: float(np.mean(v)) for k, v in per_key.items()}
    return [mean[k] for k in keys], {"reference_machine": reference, "machine_factors": factors, "rule": COST_RULE}


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).resolve().parent
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def write_table(
    path: str | Path,
    records: Iterable[EvalRecord],
    live: Benchmark,
    nodes: int,
    seeds: Iterable[int],
    architectures: int,
    threads: int | None = None,
) -> dict[str, Any]:
    """Write the records of a tabulation to ``path`` (Parquet); returns the metadata written."""
    import torch

    from nasbench_shrink._version import __version__

    records = list(records)
    rows = sorted((_row_of(r) for r in records), key=lambda r: (r["key"], r["seed"]))
    columns = {c: [r[c] for r in rows] for c in COLUMNS[:-1]}  # all but arch_cost_s, computed below
    columns["machine"] = [m or "unrecorded (a cached record older than the machine field)" for m in columns["machine"]]
    columns["arch_cost_s"], cost = normalised_costs(
        columns["key"], columns["seed"], columns["cost_s"], columns["machine"]
    )
    keys = {r["key"] for r in rows}
    seeds = sorted(set(seeds))
    meta = {
        "format": FORMAT,
        "live": live.name,
        "fidelity": live.fidelity_key("proxy"),
        "task": live.task,
        "space": live.space,
        "nodes": nodes,
        "seeds": seeds,
        "metric": live.metric,
        "lam": live.lam,
        "package_version": __version__,
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "device": sorted({r.device for r in records}) or ["cpu"],
        "cpu": cpu_model(),
        "machines": sorted(set(columns["machine"])),
        "cost_reference": cost,
        "threads": threads or live.cpu_threads,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": _commit(),
        "rows": len(rows),
        "architectures_done": len(keys),
        "architectures": architectures,
        "complete": len(rows) == architectures * len(seeds),
        "pareto": _fronts(columns, live.kind.higher_is_better),
    }
    meta["sha256"] = _digest(columns, meta["pareto"])
    _write(path, columns, meta)
    return meta


def _write(path: str | Path, columns: dict[str, list], meta: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = _present(meta.get("proxies"))
    table = pa.table({c: columns[c] for c in names}).replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)  # never a half-written table under the real name


def write_proxies(
    path: str | Path, out: str | Path, values: dict[str, dict[str, dict[str, float]]], info: dict[str, Any]
) -> dict[str, Any]:
    """Write the table at ``path`` to ``out`` with proxy columns: ``values[key][proxy] = {"value", "seconds"}``
    for every architecture of the table (each of its rows gets its architecture's), ``info`` (the proxies'
    names, batch, seed, rule) in the metadata; returns the metadata written."""
    t = load_table(path)
    columns = {c: list(t.columns[c]) for c in COLUMNS}
    missing = [k for k in t.keys if k not in values]
    if missing:
        raise TableError(
            f"proxies of {len(missing)} of {len(t.keys)} architectures are missing (e.g. "
            f"{missing[0]}); finish 'nasbench-shrink proxies' first"
        )
    for name in info["names"]:
        columns[f"zc_{name}"] = [float(values[k][name]["value"]) for k in columns["key"]]
        columns[f"zc_{name}_s"] = [float(values[k][name]["seconds"]) for k in columns["key"]]
    meta = {**t.meta, "format": FORMAT, "proxies": info}
    meta["sha256"] = _digest(columns, meta["pareto"], info)
    _write(out, columns, meta)
    return meta


class Table:
    """A loaded table: rows by (architecture key, seed), its metadata, and per-architecture aggregates."""

    def __init__(self, path: Path, meta: dict[str, Any], columns: dict[str, list]) -> None:
        self.path, self.meta = path, meta
        self.seeds: tuple[int, ...] = tuple(meta["seeds"])
        self._rows = {(k, s): i for i, (k, s) in enumerate(zip(columns["key"], columns["seed"]))}
        self.columns = columns
        # the columns a row carries, fixed once: rows are read on every query
        self._names = _present(meta.get("proxies"))
        self._parsed: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def keys(self) -> list[str]:
        return sorted({k for k, _ in self._rows})

    def row(self, key: str, seed: int) -> dict[str, Any] | None:
        i = self._rows.get((key, seed))
        return None if i is None else {c: self.columns[c][i] for c in self._names}

    def record_row(self, key: str, seed: int) -> dict[str, Any] | None:
        """``row`` with its curve parsed, built once per (key, seed): searches query the same rows again and again.
        Treat it as read-only."""
        i = self._rows.get((key, seed))
        if i is None:
            return None
        if i not in self._parsed:
            row = self._parsed[i] = self.row(key, seed)
            row["curve"] = json.loads(row["curve"])  # type: ignore[index]
        return self._parsed[i]


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Table:
    import pyarrow.parquet as pq

    p = Path(path)
    try:
        table = pq.read_table(p)
        raw = (table.schema.metadata or {}).get(META_KEY)
        meta = json.loads(raw) if raw is not None else None
        columns = table.to_pydict()
    except FileNotFoundError:
        raise TableError(f"table {p} does not exist; pass an existing table file") from None
    except Exception as exc:  # pyarrow, codecs and json raise several kinds for a damaged file
        raise TableError(
            f"table {p} is not a readable table ({type(exc).__name__}); restore it or regenerate "
            "it with 'nasbench-shrink tabulate'"
        ) from None
    if meta is None:
        raise TableError(
            f"{p} is a Parquet file but not a nasbench-shrink table; pass a table that 'nasbench-shrink tabulate' wrote"
        )
    fmt = meta.get("format")
    missing = set(_present(meta.get("proxies"))) - set(columns)
    if fmt == FORMAT and meta.get("proxies") and missing:
        raise TableError(
            f"table {p}'s metadata lists proxy columns it does not hold ({sorted(missing)[0]} ...); "
            "restore the file or add them again with 'nasbench-shrink proxies'"
        )
    if fmt != FORMAT or missing:
        raise TableError(
            f"table {p} has format {fmt} (columns {sorted(columns)}), this version reads format {FORMAT}; "
            "regenerate it with 'nasbench-shrink tabulate'"
        )
    if _digest(columns, meta.get("pareto"), meta.get("proxies")) != meta.get("sha256"):
        raise TableError(f"table {p} fails its sha256 check (changed since it was written); restore or regenerate it")
    return Table(p, meta, columns)


def load_table(path: str | Path) -> Table:
    """Load (once per process) and check a table file."""
    p = Path(path)
    if not p.is_file():
        raise TableError(f"table {p} does not exist; pass an existing table file")
    return _load(str(p.resolve()), p.stat().st_mtime)


class TableLookup(Evaluator):
    """Answer evaluations from a table file: the proxy record of the asked seed; a ``final`` evaluation is the
    proxy-trained network's held-out test value (NAS-Bench-201's convention), charged nothing."""

    cacheable = False
    instant = True
    curves = True  # every row keeps its per-epoch curve
    # lookups are cheap: a comparison's default seeds are as many as the paired test needs (compare --power)
    default_seeds = None

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._table: Table | None = None

    @property
    def table(self) -> Table:
        """The loaded table, held after the first query (a query must not stat and re-resolve the file)."""
        if self._table is None:
            self._table = load_table(self.path)
        return self._table

    @property
    def architectures(self) -> int:
        return len(self.table.keys)

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "_table": None}  # a worker process loads the file itself, once

    def describe(self) -> dict[str, Any]:
        m = self.table.meta
        return {
            "live": m["live"],
            "table_nodes": m["nodes"],
            "seeds": m["seeds"],
            "table": str(self.path),
            "architectures": m["architectures_done"],
            "complete": m["complete"],
        }

    def landscape(self, bench: Benchmark) -> Any:
        from nasbench_shrink.tables.landscape import landscape_of

        return landscape_of(self.table, bench)

    def seed_for(self, run_seed: int, arch_key: str) -> int:
        """The recorded seed a run sees for an architecture, in its search and its final evaluation alike (the
        final value is the held-out test value of the very network whose validation value the search saw)."""
        return table_seed(self.table.seeds, run_seed, arch_key)

    def run(self, cell, bench, stage, seed, data_dir=None, device=None, threads=None, on_epoch=None) -> EvalRecord:
        t = self.table
        meta = t.meta
        if cell.space != meta["space"] or cell.nodes != meta["nodes"]:
            raise TableError(
                f"table {bench.name} covers the {meta['nodes']}-node {meta['space']} space; the cell has "
                f"{cell.nodes} nodes ({cell.space}): pass a {meta['nodes']}-node cell or a live benchmark"
            )
        if seed not in t.seeds:
            raise TableError(f"table {bench.name} has seeds {list(t.seeds)}; pass one of them as --seed")
        row = t.record_row(cell.key, seed)
        if row is None:
            raise TableError(
                f"cell {cell.key} at seed {seed} is not in table {bench.name} ({meta['rows']} of "
                f"{meta['architectures'] * len(t.seeds)} rows: {meta['architectures_done']} of "
                f"{meta['architectures']} architectures of the {meta['nodes']}-node {meta['space']} "
                f"space, seeds {list(t.seeds)}); continue its tabulation or use the live benchmark"
            )
        rec = record_from_row(row, bench, stage, seed, meta["fidelity"], cell)
        if stage != "final":  # charged: the architecture's seconds on the reference machine, whatever the seed
            rec.cost_s = row["arch_cost_s"]
        return rec


def record_from_row(
    row: dict[str, Any], bench: Benchmark, stage: str, seed: int, fidelity: str, cell: Cell | None = None
) -> EvalRecord:
    """The evaluation record a table row stands for. ``final``: the proxy-trained network's held-out test value,
    charged nothing (NAS-Bench-201's convention); ``proxy``: the recorded run with its measured cost (a lookup
    charges the architecture's normalised seconds instead: ``TableLookup.run``)."""
    final = stage == "final"
    perf = row["test_perf"] if final else row["perf"]
    rec = EvalRecord(
        key=row["key"],
        benchmark=bench.name,
        fidelity=fidelity,
        stage=stage,
        seed=seed,
        **bench.kind.perf_fields(perf, row["diverged"]),
        score=0.0,
        macs=row["macs"],
        params=row["params"],
        resource=row["resource"],
        cost_s=0.0 if final else row["cost_s"],
        train_flops=0.0 if final else row["train_flops"],
        epochs=row["epochs"],
        train_images=row["train_images"],
        trained_examples=row["trained_examples"],
        diverged=row["diverged"],
        stop_reason=row["stop_reason"],
        device="table",
        cell=cell.to_dict() if cell is not None else json.loads(row["cell"]),
        curve=_curve(row["curve"]),
        test_perf=row["test_perf"],
        machine=row.get("machine"),
    )
    rec.score = bench.score(rec.perf, rec.resource, diverged=rec.diverged)
    return rec


def _curve(curve: str | list) -> list[dict]:
    """A row's learning curve: the stored JSON, or the already parsed list of ``Table.record_row``."""
    return json.loads(curve) if isinstance(curve, str) else curve


def table_benchmark(name: str, path: str | Path, live: Benchmark, description: str | None = None) -> Benchmark:
    """A benchmark answered from the table at ``path``, computed on ``live``."""
    meta = load_table(path).meta
    if meta["fidelity"] != live.fidelity_key("proxy"):
        raise TableError(
            f"table {path} was computed under fidelity {meta['fidelity']}, but {live.name} is now "
            f"{live.fidelity_key('proxy')}: the code changed what an evaluation means; regenerate it"
        )
    return replace(
        live,
        name=name,
        nodes=meta["nodes"],
        random_graph_nodes=meta["nodes"],
        evaluator=TableLookup(path),
        description=description
        or f"{live.name} N = {meta['nodes']} as a table "
        f"({meta['architectures_done']} architectures x seeds {meta['seeds']}): lookups, no training",
    )
