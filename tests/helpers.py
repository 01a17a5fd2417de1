"""Test helpers: a training-free objective and storage readers."""

from __future__ import annotations

import hashlib

import optuna
from optuna.trial import TrialState

from nasbench_shrink import trial_attrs as ta
from nasbench_shrink.samplers.cell_sampler import trial_system_attrs
from nasbench_shrink.samplers.params import suggest_cell
from search_spaces import Cell


def fake_score(cell: Cell) -> float:
    """A deterministic pseudo-score of the architecture (no training)."""
    return int(hashlib.sha1(cell.key.encode()).hexdigest()[:8], 16) / 2**32 - 0.01 * len(cell.active_edges)


def fake_objective(space: str = "cnn", nodes: int = 5):
    def objective(trial: optuna.Trial) -> float:
        if trial_system_attrs(trial).get(ta.SKIP):
            raise optuna.TrialPruned()
        cell = suggest_cell(trial, space, nodes)
        trial.set_user_attr("cell", cell.to_dict())
        trial.set_user_attr("edges", len(cell.active_edges))
        return fake_score(cell)

    return objective


def trajectory_from_storage(study: optuna.Study) -> list[dict]:
    """Steps read back from the trials alone: parent cell, candidates (edge, cell, value)."""
    steps: dict[int, dict] = {}
    for t in study.get_trials(deepcopy=False):
        prop = t.system_attrs.get("nbs:proposal", {})
        if t.state != TrialState.COMPLETE or "step" not in prop:
            continue
        s = steps.setdefault(prop["step"], {"parent": Cell.from_dict(prop["parent"]), "candidates": []})
        s["candidates"].append(
            {
                "edge": tuple(prop["removed_edge"]),
                "value": t.value,
                "cell": Cell.from_dict(t.user_attrs["cell"]),
                "number": t.number,
            }
        )
    return [steps[k] for k in sorted(steps)]


def check_trajectory(study: optuna.Study, k: int) -> list[dict]:
    """Assert Algorithm 1's rules on a finished AutoShrink study, from its storage alone."""
    steps = trajectory_from_storage(study)
    assert steps, "no AutoShrink trial found"
    nxt = None
    for s in steps:
        parent = s["parent"]
        if nxt is not None:
            assert parent.key == nxt.key and parent.edges == nxt.edges  # next cell = pruned best of last step
        edges = [c["edge"] for c in s["candidates"]]
        assert len(set(edges)) == len(edges) == min(k, len(parent.edges))  # K distinct removals (all if < K)
        for c in s["candidates"]:
            assert c["edge"] in parent.edges
            assert c["cell"].pruned().edges == parent.without_edge(c["edge"]).pruned().edges
        best = max(s["candidates"], key=lambda c: c["value"])
        nxt = best["cell"].pruned()
    assert nxt is not None and nxt.edges == ()  # the run ends with no edge
    all_values = [c["value"] for s in steps for c in s["candidates"]]
    assert study.best_value == max(all_values)  # Eq. 7: the result is the best over the whole run
    return steps


def install_fake_distribution(root, module: str, source: str, group: str, entry: str) -> None:
    """Write ``module.py`` and a dist-info declaring ``entry`` in entry-point ``group`` under ``root`` (then put
    ``root`` on sys.path): an installed plug-in package, as far as importlib.metadata can tell."""
    (root / f"{module}.py").write_text(source)
    dist = root / f"{module}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{group}]\n{entry}\n")


def dashboard_api(out, path: str = "/api/studies") -> tuple[object, str]:
    """Start ``nasbench-shrink dashboard <out>`` on a free port and wait until its HTTP API answers ``path``:
    (the server process, its base URL). The caller terminates the process."""
    import json
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nasbench_shrink.cli", "dashboard", str(out), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):  # a loaded machine starts the server slowly
        time.sleep(0.5)
        try:
            with urllib.request.urlopen(base + path, timeout=2) as r:
                json.loads(r.read())
            return proc, base
        except OSError:
            continue
    proc.terminate()
    proc.wait(10)
    raise AssertionError("dashboard did not answer")


def get_json(url: str):
    import json
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def topological_relabel(cell, rng):
    """An isomorphic copy of ``cell`` with its nodes renumbered along a random topological order."""
    from search_spaces import Cell

    order, rest = [0], set(range(1, cell.nodes))
    while rest:
        n = rng.choice(sorted(x for x in rest if all(u in order for u, v in cell.edges if v == x)))
        order.append(n)
        rest.remove(n)
    pos = {n: i for i, n in enumerate(order)}
    return Cell(
        cell.space,
        cell.nodes,
        [(pos[u], pos[v]) for u, v in cell.edges],
        [cell.ops[order[i]] for i in range(cell.nodes)],
    )
