"""A table comparison stores its Optuna studies on request: the same results as one that stores them as its runs
end, a progress view read from the plan, and a dashboard that stores what it shows."""

from __future__ import annotations

import optuna
import pandas as pd
import pytest
from helpers import dashboard_api, get_json
from typer.testing import CliRunner

from nasbench_shrink.cli import app
from nasbench_shrink.runs.compare import CompareSpec, UnitProgress, progress_snapshot, store_studies
from nasbench_shrink.storage.trials import finished_counts

ARGS = ["compare", "-b", "digits-table", "--strategies", "autoshrink,random,ba", "--seeds", "0-2", "--no-final"]


@pytest.fixture(scope="module")
def two_ways(tmp_path_factory):
    """The same comparison run compact (the default) and with --store-studies."""
    root = tmp_path_factory.mktemp("compact")
    runner = CliRunner()
    for name, extra in (("compact", []), ("stored", ["--store-studies"])):
        res = runner.invoke(app, [*ARGS, "--out", str(root / name), *extra])
        assert res.exit_code == 0, res.output
    return root / "compact", root / "stored"


def _url(out):
    return f"sqlite:///{out / 'studies.db'}"


def test_compact_and_stored_comparisons_write_the_same_results(two_ways):
    compact, stored = two_ways
    for name in ("summary.csv", "trials.csv"):
        assert (compact / name).read_bytes() == (stored / name).read_bytes()
    assert optuna.get_all_study_names(_url(compact)) == []
    assert len(optuna.get_all_study_names(_url(stored))) == 9
    assert (compact / "studies.db").stat().st_size < (stored / "studies.db").stat().st_size / 2


def test_the_progress_view_reads_the_plan_as_the_stored_one_reads_the_studies(two_ways):
    compact, stored = two_ways
    import json

    state = json.loads((compact / "compare.json").read_text())
    settings = {k: v for k, v in state["settings"].items() if k != "rules"}
    spec = CompareSpec(**{**settings, "storage": state["storage"]})
    from_plan = UnitProgress(spec, state["run_id"]).snapshot()
    spec_stored = CompareSpec(**{**settings, "storage": _url(stored)})
    from_studies = progress_snapshot(spec_stored, finished_counts(optuna.storages.RDBStorage(_url(stored))))
    for strategy in spec.strategies:
        assert from_plan[strategy]["runs"] == from_studies[strategy]["runs"] == 3
        assert from_plan[strategy]["median_best"] == pytest.approx(from_studies[strategy]["median_best"])


def test_stored_on_request_equals_stored_at_the_end(two_ways, tmp_path):
    compact, stored = two_ways
    done = store_studies(compact, [1, 2])
    assert done == {"stored": 6, "already": 0, "differ": []}
    assert store_studies(compact, [1, 2])["stored"] == 0  # nothing is stored twice
    for name in ("digits-table/autoshrink/seed1", "digits-table/ba/seed2"):
        again = optuna.load_study(study_name=name, storage=_url(compact)).get_trials(deepcopy=False)
        first = optuna.load_study(study_name=name, storage=_url(stored)).get_trials(deepcopy=False)
        assert [(t.params, t.values, t.state, t.user_attrs.get("arch_key")) for t in again] == [
            (t.params, t.values, t.state, t.user_attrs.get("arch_key")) for t in first
        ]
    trials = pd.read_csv(compact / "trials.csv")
    assert len(optuna.load_study(study_name="digits-table/ba/seed2", storage=_url(compact)).trials) == len(
        trials[(trials.strategy == "ba") & (trials.seed == 2)]
    )


def test_the_dashboard_stores_and_shows_a_compact_comparisons_runs(two_ways):
    compact, _ = two_ways
    proc, base = dashboard_api(compact)
    try:
        names = {s["study_name"] for s in get_json(f"{base}/api/studies")["study_summaries"]}
        assert {f"digits-table/{s}/seed{k}" for s in ("autoshrink", "random", "ba") for k in range(3)} <= names
    finally:
        proc.terminate()
        proc.wait(10)


def test_dashboard_seeds_of_a_storage_url_is_refused(tmp_path):
    res = CliRunner().invoke(app, ["dashboard", "--storage", f"sqlite:///{tmp_path / 'x.db'}", "--seeds", "0-1"])
    assert res.exit_code == 2 and "--seeds" in res.output and "Traceback" not in res.output
