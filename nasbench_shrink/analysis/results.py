"""A comparison's results as every reader sees them: the kind of run, recorded in ``compare.json`` when the
comparison runs (from its strategies' traits and its benchmark), and the labels and scales of the final table's
columns.

The report, the terminal table and the clock report read the kind; none of them guesses it from which columns
exist, and none asks the strategy registry which strategy is the reference.

Example:
    >>> kind = RunKind(metric="accuracy", reference="autoshrink", paper_rows={"Shrink": "autoshrink"})
    >>> RunKind.from_settings({KIND_KEY: kind.to_dict()}) == kind
    True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasbench_shrink.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["KIND_KEY", "LABELS", "SCALE", "ComparisonResults", "RunKind"]

KIND_KEY = "kind"  # the key of compare.json that holds the run's kind

# the final table's columns as printed, and the factor each is shown at
LABELS = {
    "final_hv_regret": "final HV regret",
    "final_hv": "final HV",
    "final_igd_plus": "IGD+",
    "front_size": "front size",
    "final_regret": "final regret",
    "best_score": "best score",
    "final_test_accuracy": "test acc. (%)",
    "final_test_perplexity": "final test perplexity",
    "final_macs": "MACs (M)",
    "best_macs": "MACs (M)",
    "search_flops": "search FLOPs",
    "search_cost_s": "search s",
    "evaluations": "evaluations",
}
SCALE = {"final_test_accuracy": 100.0, "final_macs": 1e-6, "best_macs": 1e-6}


@dataclass(frozen=True)
class RunKind:
    """What kind of comparison produced a results folder.

    Args:
        metric: The validation metric (``accuracy`` or ``perplexity``).
        higher_is_better: Whether a higher metric is better.
        objectives: ``single`` (the score) or ``multi`` (metric against ``cost``).
        cost: ``macs`` or ``params`` in a two-objective comparison.
        reference: The strategy every other is tested against (the one declaring itself the reference of this
            kind of comparison, else the one reproducing the paper's searched row), or ``None``.
        paper_rows: Which strategy reproduces each row of the paper's tables (``Shrink``, ``Complete-DAG``, ...).
    """

    metric: str
    higher_is_better: bool = True
    objectives: str = "single"
    cost: str | None = None
    reference: str | None = None
    paper_rows: dict[str, str] = field(default_factory=dict)

    @property
    def multi(self) -> bool:
        return self.objectives == "multi"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_settings(cls, settings: dict[str, Any], where: str = "this comparison") -> RunKind:
        """The kind recorded in a comparison's ``compare.json``; one line naming the fix if it holds none."""
        raw = settings.get(KIND_KEY)
        if not isinstance(raw, dict):
            raise UserError(
                f"{where} was written before comparisons recorded their kind; run 'nasbench-shrink report' on its "
                "folder (it records the kind) or rerun the same compare command (it reuses every finished run)"
            )
        return cls(**raw)


@dataclass(frozen=True)
class ComparisonResults:
    """A finished comparison as its readers take it: its folder, the frames of its ``trials.csv`` and
    ``summary.csv``, its kind and the cost its budget counts. ``run_compare`` returns it: the command only renders
    it, nothing is read back."""

    out: Path
    trials: pd.DataFrame
    summary: pd.DataFrame
    kind: RunKind
    budget_kind: str
