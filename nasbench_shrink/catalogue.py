"""Every benchmark by name: the presets, the tables shipped in the package, table files, and plug-ins.

This is where a name the user typed becomes a ``Benchmark``: at the entry of a command, of a plan unit, or of the
public API, once. Everything below takes the object. It sits above ``tables`` because a table is a benchmark
answered by lookup, and ``benchmarks`` (the presets, pure data) knows nothing about tables.

Example:
    >>> get_benchmark("digits").nodes
    5
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from nasbench_shrink.benchmarks import PRESETS, Benchmark
from nasbench_shrink.errors import BenchmarkError
from nasbench_shrink.surrogates.dataset import load_dataset_meta
from nasbench_shrink.surrogates.lookup import DATA_SUFFIX, SHIPPED_SURROGATES_DIR, surrogate_benchmark
from nasbench_shrink.tables import SHIPPED_TABLES_DIR, load_table, table_benchmark

__all__ = ["BENCHMARK_ENTRY_POINTS", "get_benchmark", "list_benchmarks", "register_benchmark", "resolve_benchmark"]

BENCHMARK_ENTRY_POINTS = "nasbench_shrink.benchmarks"  # entry-point group: each entry a Benchmark

_REGISTRY: dict[str, Benchmark] = {b.name: b for b in PRESETS}


def register_benchmark(bench: Benchmark) -> None:
    """Make ``bench`` known by its name to every command of this process."""
    _REGISTRY[bench.name] = bench


def _load_entry_points() -> None:
    """Benchmarks from installed packages (entry-point group ``nasbench_shrink.benchmarks``, each a Benchmark)."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=BENCHMARK_ENTRY_POINTS):
        if ep.name in _REGISTRY:
            continue
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plug-in must not break the tool
            raise BenchmarkError(
                f"benchmark plug-in {ep.name!r} failed to load ({exc}); reinstall its package"
            ) from exc
        if isinstance(obj, Benchmark):
            _REGISTRY[ep.name] = obj if obj.name == ep.name else replace(obj, name=ep.name)


def _load_shipped_tables() -> None:
    """Register every table and surrogate shipped in the package as a benchmark of its own name (answered by
    lookup; a surrogate's data set ``NAME-data.parquet`` is the benchmark ``NAME``)."""
    for path in sorted(SHIPPED_TABLES_DIR.glob("*.parquet")):
        if path.stem in _REGISTRY:
            continue
        live = _REGISTRY.get(load_table(path).meta["live"])
        if live is not None:
            _REGISTRY[path.stem] = table_benchmark(path.stem, path, live)
    for path in sorted(SHIPPED_SURROGATES_DIR.glob(f"*{DATA_SUFFIX}.parquet")):
        name = path.stem.removesuffix(DATA_SUFFIX)
        if name not in _REGISTRY:
            _REGISTRY[name] = surrogate_benchmark(name, path, _REGISTRY[load_dataset_meta(path)["benchmark"]])


def _table_file(path: Path) -> Benchmark:
    """A table file given by its path (one ``tabulate --out`` wrote): a benchmark answered by lookup."""
    if not path.is_file():
        raise BenchmarkError(f"no table file at {path}; pass a file written by 'nasbench-shrink tabulate --out'")
    live = load_table(path).meta["live"]
    return table_benchmark(path.stem, path.resolve(), get_benchmark(live))


def get_benchmark(name: str) -> Benchmark:
    """The benchmark called ``name``: a preset, a shipped table, an entry point's, or a table file's path
    (``*.parquet``)."""
    if name not in _REGISTRY and (
        (SHIPPED_TABLES_DIR / f"{name}.parquet").is_file()
        or (SHIPPED_SURROGATES_DIR / f"{name}{DATA_SUFFIX}.parquet").is_file()
    ):
        _load_shipped_tables()
    if name not in _REGISTRY:
        _load_entry_points()
    if name not in _REGISTRY and name.endswith(".parquet"):
        _REGISTRY[name] = _table_file(Path(name))
    try:
        return _REGISTRY[name]
    except KeyError:
        _load_shipped_tables()  # the message lists every name, the tables included
        raise BenchmarkError(
            f"unknown benchmark {name!r}; choose one of {', '.join(sorted(_REGISTRY))} "
            "(see 'nasbench-shrink benchmarks')"
        ) from None


def resolve_benchmark(benchmark: str | Benchmark) -> Benchmark:
    """``benchmark`` itself, or the benchmark of that name: for public functions that take either."""
    return benchmark if isinstance(benchmark, Benchmark) else get_benchmark(benchmark)


def list_benchmarks() -> list[Benchmark]:
    _load_shipped_tables()
    _load_entry_points()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]
