"""Ctrl-C as the command line handles it: a KeyboardInterrupt at the next safe point, repeated until handled.

Two things go wrong with Python's default handler in a command that imports torch and runs worker processes:
an interrupt raised while a native extension initialises (torch's import calls back into Python through pybind11)
aborts the interpreter ("terminate called after throwing an instance of 'pybind11::error_already_set'"), and one
raised inside a weakref callback or ``__del__`` is printed as "Exception ignored" and lost, so the command runs
on. Here an interrupt is pending until the code that catches it calls ``acknowledge()``: while pending, it is
raised again every 50 ms (SIGALRM), and never inside an import, in module-level code (the program starting), in
the frame of a function marked ``@entry`` (a command line's ``main``, so that the interrupt surfaces in a callee,
inside its ``try``), or in a ``deferred()`` block (e.g. while worker processes are being spawned: a half-started
child would print a traceback of its own). Whoever cleans up after a KeyboardInterrupt
acknowledges it first, so its clean-up is not itself interrupted. A ``deferred()`` block may open an
``undeferred()`` part (a plan's claim and hand-back are deferred, the unit's own work between them is not). Worker
processes, stopped by SIGTERM rather than Ctrl-C, use the same rules (``work.pool``); ``ask_stop()`` records the
stop, so a stopped worker takes on no new work.
"""

from __future__ import annotations

import atexit
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = [
    "acknowledge",
    "ask_stop",
    "deferred",
    "deferring",
    "entry",
    "in_import",
    "install",
    "pending",
    "stopping",
    "undeferred",
]

_RECHECK_S = 0.05
_pending = False
_deferring = 0
_stopping = False  # a worker process was asked to stop (``work.pool``)
_ENTRIES: set = set()  # code objects of @entry functions


def in_import(frame: FrameType | None) -> bool:
    """Whether ``frame`` runs inside the import machinery or a module's top level (or an ``@entry`` frame): an
    exception raised there can leave a module half imported, or be printed as "Exception ignored" by an
    import-lock callback and lost."""
    if frame is not None and (frame.f_code.co_name == "<module>" or frame.f_code in _ENTRIES):
        return True  # starting up, or in an entry point's own frame: raise once we are inside its callee
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _pending
    if signum == signal.SIGINT:
        _pending = True
    if not _pending:  # a timer that outlived its interrupt
        return
    signal.setitimer(signal.ITIMER_REAL, _RECHECK_S)  # again, until someone acknowledges it
    if not _deferring and not in_import(frame):
        raise KeyboardInterrupt


def entry(fn: Callable) -> Callable:
    """Mark a command line's entry function: an interrupt is never raised in its own frame (where its ``try``
    may not have begun), only in what it calls."""
    _ENTRIES.add(fn.__code__)
    return fn


@contextmanager
def deferred() -> Iterator[None]:
    """A block that an interrupt does not cut: one arriving meanwhile is raised (within 50 ms) after it."""
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1


def deferring() -> bool:
    """Whether a ``deferred()`` block (outside any ``undeferred()`` part of it) is running."""
    return _deferring > 0


@contextmanager
def undeferred() -> Iterator[None]:
    """A part of a ``deferred()`` block that an interrupt may cut: the work the block's bookkeeping is around (a
    plan unit's call, between its claim and its hand-back)."""
    global _deferring
    saved, _deferring = _deferring, 0
    try:
        yield
    finally:
        _deferring = saved


def ask_stop() -> None:
    """Record that this (worker) process was asked to stop: it takes on no new work (``stopping()``)."""
    global _stopping
    _stopping = True


def stopping() -> bool:
    return _stopping


def acknowledge() -> None:
    """The KeyboardInterrupt was caught and is being handled: stop raising it."""
    global _pending
    _pending = False
    if hasattr(signal, "setitimer"):
        signal.setitimer(signal.ITIMER_REAL, 0)


def pending() -> bool:
    """An interrupt arrived and nobody has handled it yet (e.g. a library caught the KeyboardInterrupt and turned
    it into a quiet exit code)."""
    return _pending


def _disarm() -> None:
    """At exit: no repetition may outlive the handler. The interpreter restores SIGALRM's default action while it
    shuts down, and a timer still armed then would end the process with "Alarm clock" (exit -14)."""
    if hasattr(signal, "setitimer"):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_IGN)


def install() -> None:
    """Route SIGINT (and the repetition's SIGALRM) through the handler above; a no-op where the platform has no
    interval timer. Call it from the main thread of a command-line entry point."""
    if not hasattr(signal, "setitimer"):
        return
    if signal.getsignal(signal.SIGALRM) is not _on_signal:
        atexit.register(_disarm)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGALRM, _on_signal)
