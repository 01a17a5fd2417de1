"""Fitting and validating a surrogate of the seed-mean validation accuracy.

Models (deterministic with fixed seeds, one thread): gradient-boosted trees on the invariant features (``gbt``),
a random forest (``rf``), their mean (``ensemble``), and a small graph isomorphism network in plain torch on the
canonical graph with the exact log MACs and params (``gin``). The measures, each against the
figures a surrogate must beat:

- held-out random cells: K-fold over the cells of the ``random`` and ``dense`` designs (each fit sees every other
  cell, the optimizers' included), Kendall τ, Spearman ρ and R² against the observed values;
- leave one optimizer out: fit without every cell an optimizer's runs trained (AutoShrink's, evolution's, TPE's)
  and test on those cells, the check that a surrogate extrapolates to where a search goes;
- the noise ceiling: τ between two seeds of the same cells (how well one more seed predicts another), beside the
  surrogate's τ against each seed when those cells were held out;
- the size baselines: params, MACs and active edges alone as predictors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as st

from nasbench_shrink.surrogates.features import GRAPH_NODES, cell_features, feature_names, graph_encoding
from search_spaces import Cell

__all__ = ["MODELS", "feature_matrix", "fit_model", "rank_scores", "validate"]


_INVARIANT = len(feature_names())


class _OnFeatures:
    """A scikit-learn regressor on the invariant features only (the matrix also carries the graph encoding)."""

    def __init__(self, model) -> None:
        self.model = model

    def fit(self, x, y):
        self.model.fit(x[:, :_INVARIANT], y)
        return self

    def predict(self, x):
        return self.model.predict(x[:, :_INVARIANT])


class _GIN:
    """Three GIN layers (Xu et al. 2019) over the cell's edges in both directions, sum readout of every layer,
    joined with log MACs and log params, then an MLP; full-batch Adam on standardised targets, seed 0."""

    def __init__(self, hidden: int = 32, epochs: int = 400, lr: float = 1e-2) -> None:
        self.hidden, self.epochs, self.lr = hidden, epochs, lr

    def _tensors(self, x):
        import torch

        n = GRAPH_NODES
        g = torch.as_tensor(x[:, _INVARIANT:], dtype=torch.float32)
        adj = g[:, : n * n].reshape(-1, n, n)
        ops = g[:, n * n :].reshape(-1, n, 3)
        size = torch.as_tensor(x[:, :2], dtype=torch.float32)
        return adj + adj.transpose(1, 2), ops, (size - self.size_mean) / self.size_std

    def _net(self):
        import torch
        from torch import nn

        h = self.hidden

        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.layers = nn.ModuleList(
                    [
                        nn.Sequential(nn.Linear(3 if i == 0 else h, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU())
                        for i in range(3)
                    ]
                )
                self.head = nn.Sequential(nn.Linear(3 * h + 2, h), nn.ReLU(), nn.Linear(h, 1))

            def forward(self, adj, ops, size):
                mask = ops.sum(-1, keepdim=True)  # padding nodes stay zero
                z, reads = ops, []
                for layer in self.layers:
                    z = layer(z + adj @ z) * mask
                    reads.append(z.sum(1))
                return self.head(torch.cat([*reads, size], 1)).squeeze(-1)

        return Net()

    def fit(self, x, y):
        import torch

        torch.manual_seed(0)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            self.size_mean = torch.as_tensor(x[:, :2].mean(0), dtype=torch.float32)
            self.size_std = torch.as_tensor(x[:, :2].std(0) + 1e-9, dtype=torch.float32)
            self.y_mean, self.y_std = float(np.mean(y)), float(np.std(y) + 1e-9)
            adj, ops, size = self._tensors(x)
            target = torch.as_tensor((np.asarray(y) - self.y_mean) / self.y_std, dtype=torch.float32)
            self.net = self._net()
            opt = torch.optim.Adam(self.net.parameters(), lr=self.lr, weight_decay=1e-4)
            for _ in range(self.epochs):
                opt.zero_grad()
                loss = torch.nn.functional.mse_loss(self.net(adj, ops, size), target)
                loss.backward()
                opt.step()
        finally:
            torch.set_num_threads(threads)
        return self

    def predict(self, x):
        import torch

        with torch.no_grad():
            return self.net(*self._tensors(x)).numpy().astype(float) * self.y_std + self.y_mean


def _gbt():
    from sklearn.ensemble import HistGradientBoostingRegressor

    return _OnFeatures(
        HistGradientBoostingRegressor(
            max_iter=300,
            learning_rate=0.05,
            max_leaf_nodes=15,
            min_samples_leaf=5,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=0,
        )
    )


def _rf():
    from sklearn.ensemble import RandomForestRegressor

    # depth 8 and leaves of 5: one seed's noise (SD 0.02) is most of what deeper trees would fit; a query walks
    # every tree, and these 100 shallow trees keep a lookup under 100 µs (docs/fidelity.md: the grid compared)
    return _OnFeatures(
        RandomForestRegressor(
            n_estimators=100, max_depth=8, min_samples_leaf=5, max_features=0.5, random_state=0, n_jobs=1
        )
    )


class _Mean:
    """The mean of several regressors' predictions."""

    def __init__(self, makers: list[Callable[[], Any]]) -> None:
        self.models = [m() for m in makers]

    def fit(self, x, y):
        for m in self.models:
            m.fit(x, y)
        return self

    def predict(self, x):
        return np.mean([m.predict(x) for m in self.models], axis=0)


MODELS: dict[str, Callable[[], Any]] = {"gbt": _gbt, "rf": _rf, "ensemble": lambda: _Mean([_gbt, _rf]), "gin": _GIN}


def feature_matrix(frame: pd.DataFrame) -> np.ndarray:
    """Per architecture: the invariant features, then the canonical graph encoding."""
    cells = [Cell.from_json(c) for c in frame["cell"]]
    return np.vstack(
        [
            np.concatenate([cell_features(c, m, p), graph_encoding(c)])
            for c, m, p in zip(cells, frame["macs"], frame["params"])
        ]
    )


def fit_model(name: str, x: np.ndarray, y: np.ndarray):
    return MODELS[name]().fit(x, y)


def rank_scores(pred: np.ndarray, obs: np.ndarray) -> dict[str, float]:
    """Kendall τ, Spearman ρ and R² of predictions against observations."""
    pred, obs = np.asarray(pred, float), np.asarray(obs, float)
    ss = float(((obs - obs.mean()) ** 2).sum())
    return {
        "n": len(obs),
        "kendall": float(st.kendalltau(pred, obs).statistic),
        "spearman": float(st.spearmanr(pred, obs).statistic),
        "r2": float(1 - ((obs - pred) ** 2).sum() / ss) if ss > 0 else float("nan"),
    }


def tau_gain_ci(
    pred: np.ndarray, baseline: np.ndarray, obs: np.ndarray, resamples: int = 1000, seed: int = 0
) -> dict[str, float]:
    """Kendall τ of ``pred`` minus that of ``baseline`` against ``obs``, with a paired percentile bootstrap 95 %
    interval (the same resampled cells for both): whether a model ranks better than, say, parameter count."""
    pred, baseline, obs = (np.asarray(a, float) for a in (pred, baseline, obs))
    rng = np.random.default_rng(seed)
    gains = []
    for _ in range(resamples):
        i = rng.integers(0, len(obs), len(obs))
        gains.append(st.kendalltau(pred[i], obs[i]).statistic - st.kendalltau(baseline[i], obs[i]).statistic)
    gains = np.asarray(gains)
    gains = gains[np.isfinite(gains)]
    point = st.kendalltau(pred, obs).statistic - st.kendalltau(baseline, obs).statistic
    return {"gain": float(point), "lo": float(np.quantile(gains, 0.025)), "hi": float(np.quantile(gains, 0.975))}


def _baselines(frame: pd.DataFrame, obs: np.ndarray) -> dict[str, dict[str, float]]:
    return {
        b: rank_scores(np.log10(frame[b].to_numpy(float)) if b != "edges" else frame[b].to_numpy(float), obs)
        for b in ("params", "macs", "edges")
    }


def validate(rows: pd.DataFrame, means: pd.DataFrame, folds: int = 5) -> dict[str, Any]:
    """Every measure of the module docstring, for every model in ``MODELS``."""
    x = feature_matrix(means)
    y = means["accuracy"].to_numpy(float)
    designs = means["designs"].str.split(",")
    out: dict[str, Any] = {"architectures": len(means), "rows": len(rows)}
    # (a) held-out random and dense cells, K-fold
    pool = np.flatnonzero(designs.map(lambda d: bool({"random", "dense"} & set(d))).to_numpy())
    rng = np.random.default_rng(0)
    fold_of = np.full(len(means), -1)
    fold_of[pool] = rng.permutation(len(pool)) % folds
    held: dict[str, Any] = {}
    preds = {name: np.full(len(means), np.nan) for name in MODELS}
    for name in MODELS:
        for f in range(folds):
            test = fold_of == f
            model = fit_model(name, x[~test], y[~test])
            preds[name][test] = model.predict(x[test])
        held[name] = rank_scores(preds[name][pool], y[pool])
    held["baselines"] = _baselines(means.iloc[pool], y[pool])
    params = np.log10(means["params"].to_numpy(float))
    held["tau_gain_over_params"] = {name: tau_gain_ci(preds[name][pool], params[pool], y[pool]) for name in MODELS}
    out["held_out_random"] = held
    # (b) leave one optimizer out
    loo: dict[str, Any] = {}
    for opt in ("autoshrink", "evolution", "tpe"):
        mask = designs.map(lambda d, o=opt: o in d).to_numpy()
        if mask.sum() < 10 or (~mask).sum() < 20:
            continue
        loo[opt] = {name: rank_scores(fit_model(name, x[~mask], y[~mask]).predict(x[mask]), y[mask]) for name in MODELS}
        loo[opt]["baselines"] = _baselines(means[mask], y[mask])
    out["leave_one_optimizer_out"] = loo
    # (c) the noise ceiling, and the surrogate against single seeds of the same (held-out) cells
    out["noise"] = noise_ceiling(rows, means, preds)
    return out


def noise_ceiling(rows: pd.DataFrame, means: pd.DataFrame, preds: dict[str, np.ndarray]) -> dict[str, Any]:
    """τ between a cell's first two seeds, on the cells with ≥ 2 seeds; and, for held-out predictions, τ of the
    prediction against each of those seeds (does the surrogate predict an unseen seed as well as a seed does?)."""
    ok = rows[~rows["diverged"]].sort_values(["key", "seed"])
    multi = ok.groupby("key").filter(lambda g: len(g) >= 2).groupby("key")
    a = multi["accuracy"].nth(0)
    b = multi["accuracy"].nth(1)
    keys = ok.loc[a.index, "key"].to_numpy()
    a, b = a.to_numpy(float), b.to_numpy(float)
    out: dict[str, Any] = {"cells": len(keys)}
    if len(keys) < 5:
        return out
    out["seed_vs_seed"] = rank_scores(a, b)
    deviations = ok[ok["key"].isin(keys)].groupby("key")["accuracy"].transform(lambda v: v - v.mean())
    out["seed_sd"] = float(np.sqrt((deviations**2).sum() / max(1, len(deviations) - len(keys))))
    index = {k: i for i, k in enumerate(means["key"])}
    rows_i = np.array([index[k] for k in keys])
    for name, p in preds.items():
        have = ~np.isnan(p[rows_i])
        if have.sum() >= 5:
            out[f"{name}_vs_seed_a"] = rank_scores(p[rows_i][have], a[have])
            out[f"{name}_vs_seed_b"] = rank_scores(p[rows_i][have], b[have])
    return out
