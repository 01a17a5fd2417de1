"""The package's architecture, read from its imports (static, via ``ast``): no import circle, and no layer
importing a layer above it. Imports inside functions count (a lazy import is still a dependency), and so do the
module paths named in a face's ``_EXPORTS``."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("search_spaces", "nasbench_shrink", "baselines")

# Bottom to top. A module belongs to the longest prefix that names it; it may import its own layer's modules and
# the layers below. Within a layer the module graph must still be acyclic.
LAYERS = (
    "search_spaces",  # cells as DAGs and the networks built from them
    "nasbench_shrink.errors",  # the UserError family
    "nasbench_shrink._version",
    "nasbench_shrink.interrupts",  # Ctrl-C raised at safe points until acknowledged
    "nasbench_shrink.trial_attrs",  # the names results are stored under in a study
    "nasbench_shrink.budget",  # the cost rule: what a trial is charged, when a run is spent
    "nasbench_shrink.objectives",  # score or metric against cost; fronts, hypervolume, IGD+
    "nasbench_shrink.storage",  # table creation under a lock, studies written and read in one transaction
    "nasbench_shrink.work",  # units of work claimed under leases, local worker processes
    "nasbench_shrink.benchmarks",  # presets as data, task kinds, recipes, data loaders, splits
    "nasbench_shrink.evaluation",  # the one training loop, the kinds' networks, evaluate, the cache
    "nasbench_shrink.proxies",  # zero-cost proxies of an untrained network
    "nasbench_shrink.tables",  # table format, lookup, landscape, shipped tables
    "nasbench_shrink.surrogates",  # surrogate benchmarks: invariant features, data set, validation
    "nasbench_shrink.catalogue",  # every benchmark by name (presets, tables, files, plug-ins)
    "nasbench_shrink.samplers",  # the cell-sampler base, cell parameters, AutoShrink
    "baselines",  # baseline samplers on the cell-sampler base
    "nasbench_shrink.strategies",  # strategies by name and their traits
    "nasbench_shrink.analysis",  # statistics, report, figures
    "nasbench_shrink.runs",  # objective, search, compare, tabulate, random graphs
    "nasbench_shrink.api",  # the public API's entry (names or objects)
    "nasbench_shrink.hub",  # OptunaHub: a table as a BaseProblem (needs optunahub)
    "nasbench_shrink.cli",  # the command line
    "nasbench_shrink",  # the package's face
)


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()

    def add(target: str) -> None:
        while target and target not in known:  # ``a.b.c`` where c is a name: its module is ``a.b``
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                add(a.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".") if is_pkg else name.split(".")[:-1]
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for a in node.names:
                add(f"{base}.{a.name}" if f"{base}.{a.name}" in known else base)
        elif isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_EXPORTS" for t in node.targets):
            if isinstance(node.value, ast.Dict):
                for key in node.value.keys:
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        add(key.value)
    return found


def _layer(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS.index(best)


def _graph() -> nx.DiGraph:
    known = _modules()
    g = nx.DiGraph()
    g.add_nodes_from(known)
    for name, path in known.items():
        g.add_edges_from((name, target) for target in _imports(name, path, known))
    return g


def test_every_module_has_a_layer():
    unplaced = [m for m in _modules() if not any(m == p or m.startswith(p + ".") for p in LAYERS)]
    assert unplaced == []


def test_no_import_circle():
    cycles = list(nx.simple_cycles(_graph()))
    assert cycles == [], f"import circles: {cycles[:5]}"


def test_no_layer_imports_a_layer_above_it():
    upward = [(a, b) for a, b in _graph().edges if _layer(b) > _layer(a)]
    assert upward == [], f"imports running up the layers: {upward}"


def test_the_checks_can_fail(tmp_path):
    """The walker sees an import inside a function and a face's _EXPORTS: what the layer rule is checked on."""
    src = tmp_path / "m.py"
    src.write_text(
        "def f():\n    from nasbench_shrink.cli import app\n_EXPORTS = {'nasbench_shrink.runs.search': ()}\n"
    )
    known = _modules()
    assert _imports("nasbench_shrink.benchmarks.fake", src, known) == {
        "nasbench_shrink.cli",
        "nasbench_shrink.runs.search",
    }
    assert _layer("nasbench_shrink.cli") > _layer("nasbench_shrink.benchmarks.presets")


def test_benchmarks_are_data():
    """``benchmarks/`` imports neither ``evaluation/`` nor ``tables/`` (nor torch at module level)."""
    g = _graph()
    below = {b for a, b in g.edges if a.startswith("nasbench_shrink.benchmarks")}
    assert not any(b.startswith(("nasbench_shrink.evaluation", "nasbench_shrink.tables")) for b in below)


def test_results_are_read_by_their_recorded_kind_not_through_the_registry():
    """The report and the tables read a comparison's kind (reference strategy, paper rows, metric) from its
    compare.json; ``analysis`` never asks the strategy registry."""
    g = _graph()
    up = {
        (a, b)
        for a, b in g.edges
        if a.startswith("nasbench_shrink.analysis") and b.startswith("nasbench_shrink.strategies")
    }
    assert up == set()


def test_names_are_resolved_only_at_entries():
    """``get_benchmark`` is called only in the catalogue itself, the CLI, the plan units' entries, the specs a run
    is entered with, and the public APIs (``api``, and the OptunaHub problem); ``evaluation.evaluate`` refuses a
    name with one line."""
    import pytest

    from nasbench_shrink.errors import UserError
    from nasbench_shrink.evaluation import evaluate
    from search_spaces import complete_cell

    callers = set()
    for name, path in _modules().items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in (
                "get_benchmark",
                "resolve_benchmark",
            ):
                callers.add(name)
    assert callers <= {
        "nasbench_shrink.catalogue",
        "nasbench_shrink.api",
        "nasbench_shrink.runs.search",
        "nasbench_shrink.runs.compare_spec",
        "nasbench_shrink.runs.tabulate",
        "nasbench_shrink.cli.benchmarks",
        "nasbench_shrink.cli.compare",
        "nasbench_shrink.cli.search",
        "nasbench_shrink.cli.tables",
        "nasbench_shrink.hub.problem",
    }, callers
    with pytest.raises(UserError, match="takes a Benchmark"):
        evaluate(complete_cell("cnn", 3), "digits")


def test_a_lookup_only_run_never_imports_torch():
    """torch costs seconds to import in every worker process; a table's runs build no network."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from nasbench_shrink.runs.compare import run_compare\n"
        "from nasbench_shrink.runs.search import SearchSpec, run_worker\n"
        "from nasbench_shrink.strategies import default_strategies\n"
        "for s in default_strategies():\n"
        "    spec = SearchSpec(s, 'digits-table', storage='', cache=None, budget_kind='evals', budget=5, store=False)\n"
        "    run_worker(spec)\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_trial_attribute_names_are_defined_once():
    """Every trial or study attribute a module sets or reads is named through ``nasbench_shrink.trial_attrs``,
    never by a string literal: ``set_user_attr("x")``, ``.user_attrs["x"]``, ``.user_attrs.get("x")``,
    ``"x" in .user_attrs`` (and the same for system attrs), and no ``nbs:`` attribute spelled out elsewhere."""
    from nasbench_shrink import trial_attrs

    def literal(node) -> bool:
        return isinstance(node, ast.Constant) and isinstance(node.value, str)

    def attrs_of(node) -> bool:  # x.user_attrs / x.system_attrs
        return isinstance(node, ast.Attribute) and node.attr in ("user_attrs", "system_attrs")

    found = []
    for name, path in _modules().items():
        if name == "nasbench_shrink.trial_attrs":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            bad = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                f = node.func
                if f.attr in ("set_user_attr", "set_system_attr") and node.args and literal(node.args[0]):
                    bad = node.args[0].value
                elif f.attr in ("set_trial_user_attr", "set_trial_system_attr") and len(node.args) > 1:
                    bad = node.args[1].value if literal(node.args[1]) else None
                elif f.attr == "get" and attrs_of(f.value) and node.args and literal(node.args[0]):
                    bad = node.args[0].value
            elif isinstance(node, ast.Subscript) and attrs_of(node.value) and literal(node.slice):
                bad = node.slice.value
            elif isinstance(node, ast.Compare) and literal(node.left) and any(attrs_of(c) for c in node.comparators):
                bad = node.left.value
            elif literal(node) and node.value.startswith("nbs:") and node.value in vars(trial_attrs).values():
                bad = node.value
            if bad is not None:
                found.append(f"{name}:{node.lineno} {bad!r}")
    assert found == [], "name these through nasbench_shrink.trial_attrs:\n" + "\n".join(found)


# the private names of Optuna's objects that an accessor of ``nasbench_shrink.storage.optuna_private`` stands for
OPTUNA_PRIVATE = (
    "_storage",
    "_study_id",
    "_trial_id",
    "_backend",
    "_is_multi_objective",
    "_get_trials",
    "_thread_local",
)


def test_optunas_private_api_is_used_in_one_module():
    """Optuna's private names (``study._storage``, ``trial._trial_id``, ``optuna.storages._rdb``, ...) appear only
    in ``nasbench_shrink.storage.optuna_private``, where each accessor says why no public call serves: a new
    Optuna version that renames one breaks one module."""
    found = []
    for name, path in _modules().items():
        if name == "nasbench_shrink.storage.optuna_private":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in OPTUNA_PRIVATE:  # getattr(x, "_backend")
                found.append(f"{name}:{node.lineno} {node.value!r}")
            elif isinstance(node, ast.Attribute) and node.attr in OPTUNA_PRIVATE:
                if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                    found.append(f"{name}:{node.lineno} .{node.attr}")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("optuna"):
                if any(part.startswith("_") for part in node.module.split(".")) or any(
                    a.name.startswith("_") for a in node.names
                ):
                    found.append(f"{name}:{node.lineno} from {node.module} import ...")
    assert found == [], f"Optuna's private API outside storage/optuna_private.py: {found}"


def test_no_function_body_over_60_lines_in_the_upper_rooms():
    """Functions in ``runs/``, ``analysis/``, ``cli/`` and ``strategies/`` stay readable: at most 60 lines from the
    first statement after the docstring to the end (a command's signature declares its options and does not
    count)."""
    long = []
    for name, path in _modules().items():
        if not name.startswith(tuple(f"nasbench_shrink.{d}" for d in ("runs", "analysis", "cli", "strategies"))):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            body = node.body
            if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and len(body) > 1:
                body = body[1:]
            if node.end_lineno - body[0].lineno + 1 > 60:
                long.append(f"{name}.{node.name}: {node.end_lineno - body[0].lineno + 1} lines")
    assert long == [], long
