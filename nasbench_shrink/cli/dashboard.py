"""Serving optuna-dashboard on loopback for a compare run's storage."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

from nasbench_shrink.errors import UserError


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def resolve_storage(out: Path | None, results: Path = Path("results")) -> tuple[str, Path | None]:
    """The storage URL of compare folder ``out`` (default: the newest folder under ``results/``), and the folder
    when it holds a comparison (whose studies may still have to be stored)."""
    if out is None:
        runs = sorted(results.glob("*/compare.json"), key=lambda p: p.stat().st_mtime) if results.is_dir() else []
        if not runs:
            raise UserError("no compare run found under results/; pass a folder or --storage URL")
        out = runs[-1].parent
    f = Path(out) / "compare.json"
    if not f.is_file():
        db = Path(out) / "studies.db"
        if db.is_file():
            return f"sqlite:///{db}", None
        raise UserError(f"{out} is not a compare output folder (no compare.json); pass one or --storage URL")
    try:
        return json.loads(f.read_text())["storage"], Path(out)
    except (OSError, ValueError, KeyError, TypeError):
        raise UserError(f"{f} is not a readable compare.json; pass another folder or --storage URL") from None


def seeds_to_show(seeds: list[int], asked: list[int] | None, most: int = 100) -> tuple[list[int], str | None]:
    """The seeds whose studies the dashboard shows: those asked, else all up to ``most`` (storing a study takes
    tens of milliseconds, and a thousand-seed comparison's runs would keep the dashboard waiting for minutes),
    with a line saying what was left out."""
    if asked is not None:
        return [s for s in seeds if s in set(asked)], None
    if len(seeds) <= most:
        return seeds, None
    shown = seeds[:most]
    return shown, (
        f"showing the runs of seeds {shown[0]}-{shown[-1]} ({most} of {len(seeds)}); pass --seeds to choose others"
    )


def serve(storage: str, host: str = "127.0.0.1", port: int = 0, announce: Callable[[str], None] | None = None) -> None:
    from optuna_dashboard import run_server

    from nasbench_shrink.runs.search import open_storage

    st = open_storage(storage, heartbeat=None)
    port = port or free_port()
    if announce:
        announce(f"http://{host}:{port}/")
    run_server(st, host=host, port=port)
