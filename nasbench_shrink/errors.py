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


def check_sqlite_url(url: str, what: str, option: str, error: type[UserError] = UserError) -> None:
    """Create the parent folder of an SQLite URL's file and check it is writable, with a one-line error.

    Never opens the database file itself: closing any descriptor of a file drops every POSIX lock the process
    holds on it, which corrupts a database in use by this process.
    """
    import os
    from pathlib import Path

    if not url.startswith("sqlite:///") or url in ("sqlite://", "sqlite:///:memory:"):
        return
    path = Path(url[len("sqlite:///") :])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise error(f"{what} {path} is not writable ({exc.strerror}); pass a writable {option}") from None
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        raise error(f"{what} {path} is not writable (permission denied); pass a writable {option}")
