"""The comparison's statistics: monotone curves, ranks, Wilcoxon + Holm, bootstrap bands, computed sentences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nasbench_shrink.analysis import stats
from nasbench_shrink.analysis.report import comparison_sentences


def _trials(seed: int = 0) -> pd.DataFrame:
    """Three strategies x 5 seeds with runs that start at different costs (the old late-start artifact)."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in ("a", "b", "c"):
        for k in range(5):
            start = rng.uniform(0, 30)
            xs = np.cumsum(rng.uniform(1, 10, 20)) + start
            ys = rng.normal({"a": 1.0, "b": 0.8, "c": 0.9}[s], 0.1, 20)
            rows += [{"strategy": s, "seed": k, "x": x, "score": y} for x, y in zip(xs, ys)]
    return pd.DataFrame(rows)


def test_aggregated_curves_never_decrease_and_bands_hold_the_iqm():
    for seed in range(5):
        curves = stats.anytime(_trials(seed), "x", "score", maximize=True, points=80)
        for _, g in curves.groupby("strategy"):
            assert (np.diff(g["iqm"].to_numpy()) >= -1e-12).all()
            assert (g["lo"] <= g["iqm"] + 1e-12).all() and (g["iqm"] <= g["hi"] + 1e-12).all()
            assert (g["runs"] == 5).all()  # every run contributes at every grid point
    regret = _trials().assign(regret=lambda d: 2.0 - d["score"])
    curves = stats.anytime(regret, "x", "regret", maximize=False)
    for _, g in curves.groupby("strategy"):
        assert (np.diff(g["iqm"].to_numpy()) <= 1e-12).all()


def test_a_strategy_best_on_every_seed_has_rank_one_everywhere():
    t = _trials()
    t.loc[t.strategy == "a", "score"] += 10.0  # a dominates on every seed from its first evaluation on
    ranks = stats.mean_rank(t, "x", "score", maximize=True)
    assert (ranks[ranks.strategy == "a"]["mean_rank"] == 1.0).all()


def test_wilcoxon_and_holm_equal_a_hand_computed_example():
    # six positive paired differences: exact two-sided p = 2 / 2**6
    assert stats.paired_test([1, 2, 3, 4, 5, 6], [0] * 6) == pytest.approx(0.03125)
    assert stats.paired_test([1, 2, 3], [1, 2, 3]) == 1.0
    # Holm: sorted 0.01, 0.03125, 0.5 -> 3 x 0.01, 2 x 0.03125, max(0.0625, 0.5)
    assert stats.holm([0.03125, 0.5, 0.01]) == pytest.approx([0.0625, 0.5, 0.03])
    assert stats.vargha_delaney_a12([3, 4], [1, 2]) == 1.0 and stats.vargha_delaney_a12([1], [1]) == 0.5


def _summary(better: str) -> pd.DataFrame:
    rows = []
    for k in range(10):
        rows.append({"strategy": "autoshrink", "seed": k, "best_score": 1.0 + 0.001 * k})
        delta = 0.05 if better == "other" else -0.05
        rows.append({"strategy": "other", "seed": k, "best_score": 1.0 + 0.001 * k + delta})
    return pd.DataFrame(rows)


def test_sentences_follow_the_numbers():
    said = {}
    for better in ("other", "autoshrink"):
        table = stats.final_table(_summary(better), {"best_score": True}, "autoshrink", "best_score")
        said[better] = " ".join(comparison_sentences(table, "best_score", "autoshrink", 10))
    assert "other is better than autoshrink" in said["other"]
    assert "other is worse than autoshrink" in said["autoshrink"]
    same = _summary("other")
    same.loc[same.strategy == "other", "best_score"] = same.loc[same.strategy == "autoshrink", "best_score"].values
    table = stats.final_table(same, {"best_score": True}, "autoshrink", "best_score")
    assert "Not significantly different" in " ".join(comparison_sentences(table, "best_score", "autoshrink", 10))


def test_a12_interval_covers_the_truth_and_equivalence_needs_a_narrow_one():
    from nasbench_shrink.analysis.report import equivalence_sentence
    from nasbench_shrink.analysis.stats import a12_ci, vargha_delaney_a12

    rng = np.random.default_rng(3)
    same_a, same_b = rng.normal(0, 1, 3000), rng.normal(0, 1, 3000)
    lo, hi = a12_ci(same_a, same_b)
    assert lo < 0.5 < hi and hi - lo < 0.04  # many seeds: a narrow interval around no effect
    few_lo, few_hi = a12_ci(same_a[:20], same_b[:20])
    assert few_hi - few_lo > 0.2  # few seeds allow large effects either way
    shifted = rng.normal(0.5, 1, 3000)
    s_lo, s_hi = a12_ci(shifted, same_b)
    assert s_lo < vargha_delaney_a12(shifted, same_b) < s_hi and s_lo > 0.6
    ns = pd.DataFrame(
        [
            {"strategy": "narrow", "a12": 0.5, "a12_lo": lo, "a12_hi": hi},
            {"strategy": "wide", "a12": 0.5, "a12_lo": few_lo, "a12_hi": few_hi},
        ]
    )
    text = equivalence_sentence(ns, "ref")
    assert "Equivalent to ref within a negligible effect" in text and text.endswith(": narrow.")


def test_seeds_for_power_inverts_detectable_a12():
    """The seeds it asks for detect the target effect (and one seed in ten fewer would not quite)."""
    n = stats.seeds_for_power(0.64, alpha=0.05 / 8)
    assert 50 < n < 400
    values = np.random.default_rng(3).random(4000)
    assert stats.detectable_a12(values, n, alpha=0.05 / 8) == pytest.approx(0.64, abs=0.01)
    assert stats.detectable_a12(values, int(n * 0.8), alpha=0.05 / 8) > 0.64
    assert stats.seeds_for_power(0.71, alpha=0.05 / 8) < n < stats.seeds_for_power(0.6, alpha=0.05 / 8)
    assert stats.seeds_for_power(0.64, alpha=0.05) < n  # Holm's strictest step needs more


def test_seeds_for_power_reads_ties_as_detectable_a12_does():
    tied = np.r_[np.zeros(600), np.random.default_rng(0).random(400)]  # 60 % of runs at one value
    n = stats.seeds_for_power(0.64, values=tied)
    assert n != stats.seeds_for_power(0.64)
    assert stats.detectable_a12(tied, n) == pytest.approx(0.64, abs=0.015)
    with pytest.raises(ValueError, match=r"between 0\.5 and 1"):
        stats.seeds_for_power(0.5)
    with pytest.raises(ValueError, match="distinct"):
        stats.seeds_for_power(0.6, values=[1.0, 1.0])
