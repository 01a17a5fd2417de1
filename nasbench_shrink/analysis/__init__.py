"""Analysis of finished runs: statistics (IQM, bootstrap, Wilcoxon + Holm, A12, power), the report, the figures.

Reads tidy frames of trials and summaries; runs nothing.
"""

from __future__ import annotations

from search_spaces._lazy import lazy_exports

_EXPORTS = {
    "nasbench_shrink.analysis.report": ("write_report",),
    "nasbench_shrink.analysis.draw": ("draw_cell",),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS, globals())
__all__ = [*__all__, "stats"]
