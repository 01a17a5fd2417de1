"""Tabular benchmarks: every architecture of a small space trained in advance, answered by lookup.

A table is one Parquet file: one row per (architecture, seed) with the representative cell, MACs, params, the
proxy curve, best validation value, the proxy-trained network's held-out test value, seconds, FLOPs, epochs and
stop reason; its schema metadata holds the live benchmark and fidelity key it was computed under, versions,
device, threads, date, commit, row counts and a sha256 of the rows that loading checks.

``TableLookup`` is the second implementation of ``evaluation.Evaluator``: ``evaluate()`` on a table benchmark
answers from the file — no training — with the recorded seconds and FLOPs as its cost, so budgets mean what they
mean live. Evaluation noise follows NAS-Bench-101: each query returns one recorded seed, drawn from the run's seed
and the trial number. λ is applied at query time, so one table serves every λ.

Example:
    >>> from nasbench_shrink.tabular import table_seed
    >>> table_seed((0, 1, 2), run_seed=0, trial_number=5) in (0, 1, 2)
    True
"""

from __future__ import annotations

import hashlib
import json
import platform
import random
import subprocess
from dataclasses import replace
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from search_spaces.cell import Cell
from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.errors import UserError
from nasbench_shrink.evaluation import EvalRecord, Evaluator
from nasbench_shrink.machine import cpu_model

__all__ = ["TableLookup", "Table", "load_table", "write_table", "table_benchmark", "table_seed", "TableError"]

FORMAT = 1
META_KEY = b"nasbench_shrink"
COLUMNS = ("key", "seed", "cell", "edges", "macs", "params", "resource", "perf", "test_perf", "cost_s",
           "train_flops", "epochs", "trained_examples", "train_images", "stop_reason", "diverged", "curve")
# written by newer versions, absent from older tables (whose digest then stays what it was)
OPTIONAL_COLUMNS = ("machine",)


class TableError(UserError):
    """A table file that is missing, corrupt, or does not cover what was asked."""


def table_seed(seeds: tuple[int, ...], run_seed: int, trial_number: int) -> int:
    """The recorded seed a query answers with: drawn from the run's seed and the trial (NAS-Bench-101's noise)."""
    return random.Random(f"table-query:{run_seed}:{trial_number}").choice(sorted(seeds))


def _row_of(rec: EvalRecord) -> dict[str, Any]:
    return {"key": rec.key, "seed": rec.seed, "cell": json.dumps(rec.cell), "edges": len(Cell.from_dict(rec.cell)
                                                                                          .active_edges),
            "macs": rec.macs, "params": rec.params, "resource": rec.resource, "perf": rec.perf,
            "test_perf": rec.test_perf, "cost_s": rec.cost_s, "train_flops": rec.train_flops, "epochs": rec.epochs,
            "trained_examples": rec.trained_examples, "train_images": rec.train_images,
            "stop_reason": rec.stop_reason, "diverged": rec.diverged, "curve": json.dumps(rec.curve),
            "machine": rec.machine}


def _present(columns: dict[str, list]) -> tuple[str, ...]:
    return COLUMNS + tuple(c for c in OPTIONAL_COLUMNS if c in columns)


def _digest(columns: dict[str, list]) -> str:
    return hashlib.sha256(json.dumps({c: columns[c] for c in _present(columns)}, sort_keys=True).encode()).hexdigest()


def _commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def write_table(path: str | Path, records: Iterable[EvalRecord], live: Benchmark, nodes: int,
                seeds: Iterable[int], architectures: int, threads: int | None = None) -> dict[str, Any]:
    """Write the records of a tabulation to ``path`` (Parquet); returns the metadata written."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import torch

    from nasbench_shrink import __version__

    records = list(records)
    rows = sorted((_row_of(r) for r in records), key=lambda r: (r["key"], r["seed"]))
    columns = {c: [r[c] for r in rows] for c in COLUMNS + OPTIONAL_COLUMNS}
    keys = {r["key"] for r in rows}
    seeds = sorted(set(seeds))
    meta = {
        "format": FORMAT, "live": live.name, "fidelity": live.fidelity_key("proxy"), "task": live.task,
        "space": live.space, "nodes": nodes, "seeds": seeds, "metric": live.metric, "lam": live.lam,
        "package_version": __version__, "torch_version": torch.__version__, "python": platform.python_version(),
        "device": sorted({r.device for r in records}) or ["cpu"], "cpu": cpu_model(),
        "machines": sorted({m for m in columns["machine"] if m}),
        "threads": threads or live.cpu_threads, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": _commit(), "rows": len(rows), "architectures_done": len(keys), "architectures": architectures,
        "complete": len(rows) == architectures * len(seeds), "sha256": _digest(columns),
    }
    table = pa.table(columns).replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)  # never a half-written table under the real name
    return meta


class Table:
    """A loaded table: rows by (architecture key, seed), its metadata, and per-architecture aggregates."""

    def __init__(self, path: Path, meta: dict[str, Any], columns: dict[str, list]) -> None:
        self.path, self.meta = path, meta
        self.seeds: tuple[int, ...] = tuple(meta["seeds"])
        self._rows = {(k, s): i for i, (k, s) in enumerate(zip(columns["key"], columns["seed"]))}
        self.columns = columns
        self._names = _present(columns)  # the columns a row carries, fixed once: rows are read on every query
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
        raise TableError(f"table {p} is not a readable table ({type(exc).__name__}); restore it or regenerate "
                         "it with 'nasbench-shrink tabulate'") from None
    if meta is None:
        raise TableError(f"{p} is a Parquet file but not a nasbench-shrink table; pass a table that "
                         "'nasbench-shrink tabulate' wrote")
    if meta.get("format") != FORMAT or set(COLUMNS) - set(columns):
        raise TableError(f"table {p} has format {meta.get('format')}, this version reads {FORMAT}; regenerate it")
    if _digest(columns) != meta.get("sha256"):
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
    default_seeds = 25  # lookups are cheap: compare with many seeds, as NAS benchmark papers do

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._table: Table | None = None

    @property
    def table(self) -> Table:
        """The loaded table, held after the first query (a query must not stat and re-resolve the file)."""
        if self._table is None:
            self._table = load_table(self.path)
        return self._table

    def describe(self) -> dict[str, Any]:
        m = self.table.meta
        return {"live": m["live"], "table_nodes": m["nodes"], "seeds": m["seeds"], "table": str(self.path),
                "architectures": m["architectures_done"], "complete": m["complete"]}

    def seed_for(self, run_seed: int, trial_number: int | None) -> int:
        """A search trial's recorded seed (NAS-Bench-101 noise); without a trial (a run's final evaluation), the
        run's seed when the table has it, else one drawn from the run's seed."""
        seeds = self.table.seeds
        if trial_number is None:
            return run_seed if run_seed in seeds else table_seed(seeds, run_seed, -1)
        return table_seed(seeds, run_seed, trial_number)

    def run(self, cell, bench, stage, seed, data_dir=None, device=None, threads=None) -> EvalRecord:
        t = self.table
        meta = t.meta
        if cell.space != meta["space"] or cell.nodes != meta["nodes"]:
            raise TableError(f"table {bench.name} covers the {meta['nodes']}-node {meta['space']} space; the cell has "
                             f"{cell.nodes} nodes ({cell.space}): pass a {meta['nodes']}-node cell or a live benchmark")
        if seed not in t.seeds:
            raise TableError(f"table {bench.name} has seeds {list(t.seeds)}; pass one of them as --seed")
        row = t.record_row(cell.key, seed)
        if row is None:
            raise TableError(f"cell {cell.key} at seed {seed} is not in table {bench.name} ({meta['rows']} of "
                             f"{meta['architectures'] * len(t.seeds)} rows: {meta['architectures_done']} of "
                             f"{meta['architectures']} architectures of the {meta['nodes']}-node {meta['space']} "
                             f"space, seeds {list(t.seeds)}); continue its tabulation or use the live benchmark")
        return record_from_row(row, bench, stage, seed, meta["fidelity"], cell)


def record_from_row(row: dict[str, Any], bench: Benchmark, stage: str, seed: int, fidelity: str,
                    cell: Cell | None = None) -> EvalRecord:
    """The evaluation record a table row stands for. ``final``: the proxy-trained network's held-out test value,
    charged nothing (NAS-Bench-201's convention); ``proxy``: the recorded run with its recorded cost."""
    final = stage == "final"
    perf = row["test_perf"] if final else row["perf"]
    rec = EvalRecord(
        key=row["key"], benchmark=bench.name, fidelity=fidelity, stage=stage, seed=seed,
        **bench.kind.perf_fields(perf, row["diverged"]), score=0.0, macs=row["macs"], params=row["params"],
        resource=row["resource"], cost_s=0.0 if final else row["cost_s"],
        train_flops=0.0 if final else row["train_flops"], epochs=row["epochs"], train_images=row["train_images"],
        trained_examples=row["trained_examples"], diverged=row["diverged"], stop_reason=row["stop_reason"],
        device="table", cell=cell.to_dict() if cell is not None else json.loads(row["cell"]),
        curve=_curve(row["curve"]), test_perf=row["test_perf"], machine=row.get("machine"))
    rec.score = bench.score(rec.perf, rec.resource, diverged=rec.diverged)
    return rec


def _curve(curve: str | list) -> list[dict]:
    """A row's learning curve: the stored JSON, or the already parsed list of ``Table.record_row``."""
    return json.loads(curve) if isinstance(curve, str) else curve


def table_benchmark(name: str, path: str | Path, live: Benchmark, description: str | None = None) -> Benchmark:
    """A benchmark answered from the table at ``path``, computed on ``live``."""
    meta = load_table(path).meta
    if meta["fidelity"] != live.fidelity_key("proxy"):
        raise TableError(f"table {path} was computed under fidelity {meta['fidelity']}, but {live.name} is now "
                         f"{live.fidelity_key('proxy')}: the code changed what an evaluation means; regenerate it")
    return replace(live, name=name, nodes=meta["nodes"], random_graph_nodes=meta["nodes"], evaluator=TableLookup(path),
                   description=description or f"{live.name} N = {meta['nodes']} as a table "
                   f"({meta['architectures_done']} architectures x seeds {meta['seeds']}): lookups, no training")
