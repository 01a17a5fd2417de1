"""The Optuna parameter encoding of a cell: one categorical per possible edge and one per node op.

Names are stable: ``e_<i>_<j>`` ∈ {0, 1} for every forward edge of an N-node DAG and ``op_<k>`` ∈ the space's ops
for nodes 1..N-1. Every strategy and the objective use this encoding, so any Optuna sampler works on the space.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution

from search_spaces import SPACE_OPS, Cell, all_edges


def edge_param(i: int, j: int) -> str:
    return f"e_{i}_{j}"


def op_param(k: int) -> str:
    return f"op_{k}"


def search_space(space: str, nodes: int) -> dict[str, BaseDistribution]:
    dists: dict[str, BaseDistribution] = {
        edge_param(i, j): CategoricalDistribution([0, 1]) for i, j in all_edges(nodes)
    }
    for k in range(1, nodes):
        dists[op_param(k)] = CategoricalDistribution(list(SPACE_OPS[space]))
    return dists


def cell_to_params(cell: Cell) -> dict[str, Any]:
    present = set(cell.edges)
    params: dict[str, Any] = {edge_param(i, j): int((i, j) in present) for i, j in all_edges(cell.nodes)}
    for k in range(1, cell.nodes):
        params[op_param(k)] = cell.ops[k]
    return params


def params_to_cell(space: str, nodes: int, params: Mapping[str, Any]) -> Cell:
    edges = [(i, j) for i, j in all_edges(nodes) if int(params[edge_param(i, j)]) == 1]
    ops = ["input"] + [str(params[op_param(k)]) for k in range(1, nodes)]
    return Cell(space, nodes, edges, ops)


def suggest_cell(trial: optuna.Trial, space: str, nodes: int) -> Cell:
    """Ask ``trial`` for every parameter of the cell space (samplers answer from their relative proposal)."""
    dists = search_space(space, nodes)
    params = {name: trial.suggest_categorical(name, d.choices) for name, d in dists.items()}  # type: ignore[attr-defined]
    return params_to_cell(space, nodes, params)
