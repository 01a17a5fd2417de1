"""What a study optimises: the λ-weighted score (one objective) or the validation metric against a cost (two).

``--objectives score`` is the paper's scalarisation (Eq. 5), one direction, maximise. ``metric,macs`` and
``metric,params`` keep the trade-off open: the validation metric (maximise accuracy, minimise perplexity) and the
search network's MACs or parameter count (minimise), so a strategy is judged by the front it finds
(``objectives.pareto``) rather than by one point of it. A strategy declares which kinds it supports
(``Strategy.objectives``: ``single``, ``multi``).

Example:
    >>> o = parse_objectives("metric,macs")
    >>> o.kind, o.cost, o.directions(higher_is_better=True)
    ('multi', 'macs', ['maximize', 'minimize'])
    >>> o.values(score=0.5, perf=0.9, macs=1e6, params=10, higher_is_better=True)
    (0.9, 1000000.0)
"""

from __future__ import annotations

from dataclasses import dataclass

from nasbench_shrink.errors import UserError

__all__ = ["COSTS", "OBJECTIVES", "SCORE", "Objectives", "parse_objectives"]

SCORE = "score"
COSTS = ("macs", "params")  # the cost axes a table's metadata holds a true front for
OBJECTIVES = (SCORE,) + tuple(f"metric,{c}" for c in COSTS)


@dataclass(frozen=True)
class Objectives:
    """One of ``OBJECTIVES``: ``score``, or ``metric,<cost>``."""

    name: str = SCORE

    @property
    def multi(self) -> bool:
        return self.name != SCORE

    @property
    def kind(self) -> str:
        """``single`` or ``multi``: what a strategy must declare it supports."""
        return "multi" if self.multi else "single"

    @property
    def cost(self) -> str | None:
        """The cost axis (a trial user attr: ``macs`` or ``params``), ``None`` for the score."""
        return self.name.split(",")[1] if self.multi else None

    def directions(self, higher_is_better: bool) -> list[str]:
        if not self.multi:
            return ["maximize"]
        return ["maximize" if higher_is_better else "minimize", "minimize"]

    def values(
        self, score: float, perf: float | None, macs: float, params: float, higher_is_better: bool
    ) -> float | tuple[float, float]:
        """A trial's value(s); a diverged run (no metric) gets the worst metric there is."""
        if not self.multi:
            return float(score)
        metric = perf if perf is not None else (0.0 if higher_is_better else float("inf"))
        return float(metric), float(macs if self.cost == "macs" else params)


def parse_objectives(text: str | Objectives | None) -> Objectives:
    """``--objectives``'s value as ``Objectives`` (one line naming the choices when it is none of them)."""
    if isinstance(text, Objectives):
        return text
    name = (text or SCORE).replace(" ", "")
    if name not in OBJECTIVES:
        raise UserError(f"unknown objectives {text!r} (--objectives); choose one of {', '.join(OBJECTIVES)}")
    return Objectives(name)
