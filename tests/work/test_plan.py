"""The run plan: exclusive claims, phases, leases taken over, failures reported and retried."""

from __future__ import annotations

import json
import time

import pytest

from nasbench_shrink.errors import UserError
from nasbench_shrink.work.plan import WAIT, Claim, Context, Plan, Unit, work

ECHO = "tests.work.test_plan:echo_unit"
BOOM = "tests.work.test_plan:boom_unit"


def echo_unit(payload, ctx):
    return {"x": payload["x"], "attempt": payload["attempt"]}


def boom_unit(payload, ctx):
    raise RuntimeError("no data here")


@pytest.fixture
def plan(tmp_path):
    return Plan(f"sqlite:///{tmp_path / 'plan.db'}")


def test_claims_are_exclusive_and_phases_wait_for_earlier_ones(plan):
    plan.create_run(
        "r",
        "test",
        {"a": 1},
        [Unit(0, ECHO, {"x": 0}, "u0"), Unit(0, ECHO, {"x": 1}, "u1"), Unit(1, ECHO, {"x": 2}, "u2")],
    )
    a, b = plan.claim("A"), plan.claim("B")
    assert isinstance(a, Claim) and isinstance(b, Claim) and {a.unit, b.unit} == {0, 1}
    assert plan.claim("C") == WAIT  # phase 1 waits for phase 0
    plan.finish(a, "A", 1)
    assert plan.claim("C") == WAIT
    plan.finish(b, "B", 2)
    c = plan.claim("C")
    assert isinstance(c, Claim) and c.unit == 2
    plan.finish(c, "C", 3)
    assert plan.claim("D") is None and plan.run_state("r") == "done"
    assert [u["result"] for u in plan.check_done("r")] == [1, 2, 3]


def test_an_expired_lease_is_taken_over_and_the_first_result_kept(plan):
    plan.create_run("r", "test", {}, [Unit(0, ECHO, {"x": 0}, "u0")], lease_s=0.5)
    first = plan.claim("dead")
    assert isinstance(first, Claim) and plan.claim("B") == WAIT  # held and fresh
    time.sleep(1.0)
    second = plan.claim("B")
    assert isinstance(second, Claim) and second.unit == first.unit and second.attempt == 2
    assert not plan.renew(first, "dead")  # the old holder has lost it
    plan.finish(second, "B", "b")
    plan.finish(first, "dead", "late")  # a late finisher does not overwrite
    assert plan.check_done("r")[0]["result"] == "b"


def test_work_runs_every_unit_and_a_failure_is_one_line_then_retried(plan):
    plan.create_run("ok", "test", {}, [Unit(0, ECHO, {"x": i}, f"u{i}") for i in range(3)])
    assert work([plan.url], Context(threads=1), "ok", poll_s=0.05) == 3
    assert [u["result"]["x"] for u in plan.check_done("ok")] == [0, 1, 2]
    plan.create_run("bad", "test", {}, [Unit(0, BOOM, {}, "the broken unit")])
    with pytest.raises(RuntimeError):
        work([plan.url], Context(threads=1), "bad", poll_s=0.05)
    with pytest.raises(UserError, match=r"the broken unit failed on .*RuntimeError: no data here"):
        plan.check_done("bad")
    assert plan.create_run("bad", "test", {}, []) is False  # planned again: the failed unit is retried
    assert plan.run_state("bad") == "open" and isinstance(plan.claim("W", "bad"), Claim)


def test_a_run_planned_with_other_settings_is_refused(plan):
    plan.create_run("r", "test", {"seeds": [0, 1]}, [])
    with pytest.raises(UserError, match="other settings"):
        plan.create_run("r", "test", {"seeds": [0]}, [])


def test_large_results_are_stored_compressed_and_read_back_whole():
    from nasbench_shrink.work.plan import decode_result, encode_result

    small = {"runs": {"0": {"rows": [1, 2]}}}
    assert encode_result(small) == json.dumps(small)
    big = {
        "runs": {
            str(s): {"rows": [{"arch_key": f"k{i}", "score": i / 7, "cell": "{}"} for i in range(300)]}
            for s in range(5)
        }
    }
    text = encode_result(big)
    assert text.startswith("zlib:") and len(text) < len(json.dumps(big)) / 5
    assert decode_result(text) == big and decode_result(json.dumps(small)) == small


def test_a_unit_is_named_by_its_function_and_an_older_name_still_resolves():
    """Units are made from the function object; a plan stored when ``search_unit`` lived in ``runs.compare``
    still names it, and a worker still imports it by that name."""
    from nasbench_shrink.runs.compare_units import search_unit
    from nasbench_shrink.work.plan import _call, work_is, work_of

    assert work_of(search_unit) == "nasbench_shrink.runs.compare_units:search_unit"
    old = "nasbench_shrink.runs.compare:search_unit"
    assert work_is(old, search_unit) and _call(old) is search_unit and not work_is(old + "x", search_unit)
