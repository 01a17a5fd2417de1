"""Optuna's private API, used here and nowhere else (the architecture test holds it to this module).

Each accessor says why no public call serves. Optuna 4.0 to 5.1 keep these names; the upper bound on Optuna in
``pyproject.toml`` is the newest version the tests pass under, so a change here shows up as a failing test, not as a
silent difference. Reading a study's trials needs none of this: ``Study.get_trials(deepcopy=False)`` is public.
"""

from __future__ import annotations

from types import ModuleType

import optuna
from optuna.storages import BaseStorage, RDBStorage

__all__ = ["backend", "rdb_models", "record_heartbeat", "storage_of", "study_id_of", "trial_id_of"]


def storage_of(study: optuna.Study) -> BaseStorage:
    """The storage a study lives in. A sampler writes system attributes on a trial while it runs (its claim on a
    candidate, its proposal) and a run stores a study's trials in one transaction: both go through the storage,
    which ``Study`` does not expose."""
    return study._storage


def study_id_of(study: optuna.Study) -> int:
    """A study's id in its storage: every storage method is keyed by it, and ``Study`` has no public accessor."""
    return study._study_id


def trial_id_of(trial: optuna.Trial | optuna.trial.FrozenTrial) -> int:
    """A trial's id in its storage (``Trial`` has no public accessor, and the storage's trial methods need it)."""
    return trial._trial_id


def backend(storage: BaseStorage) -> BaseStorage:
    """The storage under Optuna's read cache: ``create_study`` wraps an ``RDBStorage`` in one, and the bulk writes
    and AutoShrink's atomic claims need the ``RDBStorage`` itself (its engine)."""
    inner = getattr(storage, "_backend", None)
    return inner if isinstance(inner, RDBStorage) else storage


def rdb_models() -> ModuleType:
    """Optuna's ORM models of an RDB storage: a table study's trials are written, and a comparison's thousands of
    trials read, with a few multi-row statements on Optuna's own tables instead of one commit per attribute."""
    from optuna.storages._rdb import models

    return models


def record_heartbeat(storage: BaseStorage, trial_id: int) -> None:
    """Renew a running trial's heartbeat while its worker waits (AutoShrink's step barrier), so no other worker
    fails it as stale; Optuna records heartbeats only from its own optimize loop."""
    from optuna.storages._heartbeat import BaseHeartbeat, is_heartbeat_enabled

    if isinstance(storage, BaseHeartbeat) and is_heartbeat_enabled(storage):
        storage.record_heartbeat(trial_id)
