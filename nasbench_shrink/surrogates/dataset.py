"""The surrogate's training data as one Parquet file: one row per (architecture, seed), with where the cell came
from (its design: random, dense, an optimizer's run), its learning curve and quarter-epoch rungs, the held-out
test value and both costs. The file's metadata holds the command that made it and a sha256 of its rows, checked
on load, so a changed row is refused.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nasbench_shrink.errors import UserError

__all__ = ["COLUMNS", "export_dataset", "load_dataset", "load_dataset_meta", "seed_means"]

FORMAT = "nbs-surrogate-data/1"
COLUMNS = [
    "key",
    "seed",
    "design",
    "designs",
    "run",
    "step",
    "cell",
    "accuracy",
    "test_accuracy",
    "macs",
    "params",
    "edges",
    "cost_s",
    "train_flops",
    "epochs",
    "diverged",
    "stop_reason",
    "machine",
    "curve",
    "rungs",
]


def _digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(frame[COLUMNS].to_csv(index=False, float_format="%.9g").encode()).hexdigest()


def export_dataset(
    records: list[dict[str, Any]], manifest: list[dict[str, Any]], path: Path, meta: dict[str, Any]
) -> dict[str, Any]:
    """Write ``records`` (evaluation records as dicts) with their designs from ``manifest`` lines (design, run,
    step, key, seed) to ``path``; returns the metadata written."""
    from search_spaces import Cell

    first: dict[tuple[str, int], dict] = {}
    designs: dict[str, set] = {}
    for m in manifest:
        first.setdefault((m["key"], m["seed"]), m)
        designs.setdefault(m["key"], set()).add(m["design"])
    rows = []
    for r in records:
        m = first.get((r["key"], r["seed"]))
        if m is None:  # trained by something the manifest does not know of: not part of the data set
            continue
        rows.append(
            {
                "key": r["key"],
                "seed": int(r["seed"]),
                "design": m["design"],
                "designs": ",".join(sorted(designs[r["key"]])),
                "run": m.get("run"),
                "step": m.get("step"),
                "cell": json.dumps(r["cell"], sort_keys=True),
                "accuracy": r["accuracy"],
                "test_accuracy": r.get("test_perf"),
                "macs": int(r["macs"]),
                "params": int(r["params"]),
                "edges": len(Cell.from_dict(r["cell"]).active_edges),
                "cost_s": r["cost_s"],
                "train_flops": r["train_flops"],
                "epochs": r["epochs"],
                "diverged": bool(r["diverged"]),
                "stop_reason": r["stop_reason"],
                "machine": r.get("machine"),
                "curve": json.dumps(r.get("curve") or []),
                "rungs": json.dumps(r.get("rungs") or []),
            }
        )
    frame = pd.DataFrame(rows, columns=COLUMNS).sort_values(["key", "seed"]).reset_index(drop=True)
    frame["run"] = frame["run"].astype("Int64")
    frame["step"] = frame["step"].astype("Int64")
    info = {
        **meta,
        "format": FORMAT,
        "rows": len(frame),
        "architectures": int(frame["key"].nunique()),
        "sha256": _digest(frame),
    }
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"nbs": json.dumps(info).encode()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)
    return info


def load_dataset(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The data set's rows and metadata; refuses a file whose rows do not match their sha256."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise UserError(f"{path} is not a readable surrogate data set ({exc})") from None
    raw = (table.schema.metadata or {}).get(b"nbs")
    info = json.loads(raw) if raw else {}
    if info.get("format") != FORMAT:
        raise UserError(f"{path} is not a surrogate data set of format {FORMAT}")
    frame = table.to_pandas()
    if _digest(frame) != info["sha256"]:
        raise UserError(f"{path}: rows do not match the sha256 in its metadata; the file was changed")
    return frame, info


def load_dataset_meta(path: Path) -> dict[str, Any]:
    """The data set's metadata alone (its schema's, no rows read): what a catalogue needs to list it."""
    try:
        raw = (pq.read_schema(path).metadata or {}).get(b"nbs")
    except (OSError, pa.ArrowInvalid) as exc:
        raise UserError(f"{path} is not a readable surrogate data set ({exc})") from None
    info = json.loads(raw) if raw else {}
    if info.get("format") != FORMAT:
        raise UserError(f"{path} is not a surrogate data set of format {FORMAT}")
    return info


def seed_means(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per architecture: the mean validation accuracy over its seeds (diverged rows excluded), the number
    of seeds, its designs and exact costs."""
    ok = frame[~frame["diverged"]]
    g = ok.groupby("key", sort=True)
    out = g.agg(
        accuracy=("accuracy", "mean"),
        seeds=("seed", "nunique"),
        macs=("macs", "first"),
        params=("params", "first"),
        edges=("edges", "first"),
        cell=("cell", "first"),
        designs=("designs", "first"),
        cost_s=("cost_s", "mean"),
    )
    return out.reset_index()
