"""User-facing errors: each carries one line that says what is wrong and how to fix it."""

from __future__ import annotations


class UserError(Exception):
    """A bad input or environment the user can fix; the CLI prints its message on one line and exits non-zero."""


class DataError(UserError):
    """Data set missing, corrupt or not in a recognised layout."""


class CacheError(UserError):
    """Evaluation cache unreachable, unwritable or written by an incompatible version."""


class BenchmarkError(UserError):
    """Unknown benchmark or invalid benchmark option."""
