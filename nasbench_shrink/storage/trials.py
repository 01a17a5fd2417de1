"""Studies whose evaluations are lookups run in memory and land in the persistent storage in one transaction.

And the reverse: a comparison reads thousands of trials of hundreds of studies at once (``read_trials``), which
Optuna's ORM path builds object by object (about 90 ms per 25-trial study on SQLite); a few plain queries do it.

Optuna's RDB storage commits every parameter and user attribute of a trial separately: about 35 commits per trial
here, 50–80 ms on SQLite, while a table lookup takes microseconds. So a study on a table benchmark runs against an
in-memory twin (holding the stored trials, so a rerun continues) and its new trials are written with a few
multi-row inserts into Optuna's own tables at the end. Anything Optuna reads back — numbers, states, values,
params with their distributions, user and system attrs, times — equals what the per-trial API writes (tested);
on a storage or an Optuna version where the batch path does not apply, the public ``create_new_trial`` is used.
"""

from __future__ import annotations

import json
from collections.abc import Container, Sequence
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import optuna
from optuna.distributions import distribution_to_json, json_to_distribution
from optuna.storages import BaseStorage, InMemoryStorage, RDBStorage
from optuna.trial import FrozenTrial, TrialState

from nasbench_shrink.storage.optuna_private import backend, rdb_models, storage_of, study_id_of

__all__ = [
    "backend",
    "finished_counts",
    "in_memory_twin",
    "read_trials",
    "trials_by_name",
    "write_study",
    "write_trials",
]


def in_memory_twin(study: optuna.Study) -> optuna.Study:
    """An in-memory copy of ``study`` (attrs and finished trials) with the same sampler, to run fast."""
    mem = InMemoryStorage()
    twin = optuna.create_study(
        storage=mem, study_name=study.study_name, sampler=study.sampler, directions=study.directions
    )
    for k, v in study.user_attrs.items():
        mem.set_study_user_attr(study_id_of(twin), k, v)
    for k, v in storage_of(study).get_study_system_attrs(study_id_of(study)).items():
        mem.set_study_system_attr(study_id_of(twin), k, v)
    for t in study.get_trials(deepcopy=False):
        mem.create_new_trial(study_id_of(twin), template_trial=t)
    return twin


def _utc(d: datetime | None) -> datetime | None:
    return None if d is None else d.astimezone(timezone.utc).replace(tzinfo=None)


def write_trials(storage: BaseStorage, study_id: int, trials: Sequence[FrozenTrial]) -> None:
    """Append finished ``trials`` to study ``study_id`` of ``storage``, in one transaction where it is an RDB."""
    store = backend(storage)
    if not trials:
        return
    if isinstance(store, RDBStorage):
        try:
            _write_rdb(store, study_id, trials)
            return
        except (ImportError, AttributeError):  # another Optuna layout: the public path below
            pass
    for t in trials:
        store.create_new_trial(study_id, template_trial=t)


def _write_rdb(store: RDBStorage, study_id: int, trials: Sequence[FrozenTrial]) -> None:
    import sqlalchemy as sa

    m = rdb_models()

    session = store.scoped_session()
    try:
        m.StudyModel.find_or_raise_by_id(study_id, session, for_update=True)  # numbers: no other writer now
        first = session.execute(
            sa.select(sa.func.count())
            .select_from(m.TrialModel.__table__)
            .where(m.TrialModel.__table__.c.study_id == study_id)
        ).scalar_one()
        _insert_trials(session, study_id, trials, first)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def write_study(storage: BaseStorage, study: optuna.Study) -> int | None:
    """Store ``study`` (an in-memory study: name, directions, user and system attrs, finished trials) as a new
    study of ``storage`` in one transaction; returns its id, or None when a study of that name exists already
    (another worker stored it first). Where the batch path does not apply, Optuna's public API is used."""
    store = backend(storage)
    trials = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    user, system = study.user_attrs, storage_of(study).get_study_system_attrs(study_id_of(study))
    if isinstance(store, RDBStorage):
        try:
            return _write_study_rdb(store, study, trials, user, system)
        except (ImportError, AttributeError):
            pass
    try:
        sid = store.create_new_study(study.directions, study.study_name)
    except optuna.exceptions.DuplicatedStudyError:
        return None
    for k, v in user.items():
        store.set_study_user_attr(sid, k, v)
    for k, v in system.items():
        store.set_study_system_attr(sid, k, v)
    write_trials(store, sid, trials)
    return sid


def _write_study_rdb(
    store: RDBStorage, study: optuna.Study, trials: Sequence[FrozenTrial], user: dict, system: dict
) -> int | None:
    import sqlalchemy as sa

    m = rdb_models()

    session = store.scoped_session()
    try:
        model = m.StudyModel(
            study_name=study.study_name,
            directions=[m.StudyDirectionModel(objective=k, direction=d) for k, d in enumerate(study.directions)],
        )
        session.add(model)
        session.flush()
        sid = model.study_id
        for table, attrs in ((m.StudyUserAttributeModel, user), (m.StudySystemAttributeModel, system)):
            if attrs:
                session.execute(
                    sa.insert(table.__table__),
                    [{"study_id": sid, "key": k, "value_json": json.dumps(v)} for k, v in attrs.items()],
                )
        _insert_trials(session, sid, trials, 0)
        session.commit()
        return sid
    except sa.exc.IntegrityError:
        session.rollback()
        return None
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _insert_trials(session, study_id: int, trials: Sequence[FrozenTrial], first: int) -> None:
    import sqlalchemy as sa

    m = rdb_models()

    if not trials:
        return
    rows = [
        {
            "number": first + i,
            "study_id": study_id,
            "state": t.state,
            "datetime_start": _utc(t.datetime_start),
            "datetime_complete": _utc(t.datetime_complete),
        }
        for i, t in enumerate(trials)
    ]
    table = m.TrialModel.__table__
    ids = [
        r.trial_id
        for r in session.execute(sa.insert(table).returning(table.c.trial_id, sort_by_parameter_order=True), rows)
    ]
    values, params, user, system, inter = [], [], [], [], []
    for tid, t in zip(ids, trials):
        for obj, v in enumerate(t.values or []):
            stored, kind = m.TrialValueModel.value_to_stored_repr(v)
            values.append({"trial_id": tid, "objective": obj, "value": stored, "value_type": kind})
        for name, value in t.params.items():
            dist = t.distributions[name]
            params.append(
                {
                    "trial_id": tid,
                    "param_name": name,
                    "param_value": dist.to_internal_repr(value),
                    "distribution_json": distribution_to_json(dist),
                }
            )
        user += [{"trial_id": tid, "key": k, "value_json": json.dumps(v)} for k, v in t.user_attrs.items()]
        system += [{"trial_id": tid, "key": k, "value_json": json.dumps(v)} for k, v in t.system_attrs.items()]
        for step, v in t.intermediate_values.items():
            stored, kind = m.TrialIntermediateValueModel.intermediate_value_to_stored_repr(v)
            inter.append({"trial_id": tid, "step": step, "intermediate_value": stored, "intermediate_value_type": kind})
    for model, batch in (
        (m.TrialValueModel, values),
        (m.TrialParamModel, params),
        (m.TrialUserAttributeModel, user),
        (m.TrialSystemAttributeModel, system),
        (m.TrialIntermediateValueModel, inter),
    ):
        if batch:
            session.execute(sa.insert(model.__table__), batch)


@lru_cache(maxsize=1024)
def _distribution(text: str):
    return json_to_distribution(text)


def _local(d: datetime | None) -> datetime | None:
    """A stored naive-UTC time as Optuna returns it (naive local time)."""
    return None if d is None else d.replace(tzinfo=timezone.utc).astimezone().replace(tzinfo=None)


def read_trials(
    storage: BaseStorage, study_ids: Sequence[int], states: Container[TrialState] | None = None
) -> dict[int, list[FrozenTrial]]:
    """The trials of ``study_ids`` (in trial-number order), optionally only those in ``states``: one query per
    table on an RDB storage, Optuna's ``get_all_trials`` elsewhere."""
    store = backend(storage)
    if isinstance(store, RDBStorage) and study_ids:
        try:
            return _read_rdb(store, list(study_ids), states)
        except (ImportError, AttributeError):
            pass
    return {sid: list(store.get_all_trials(sid, deepcopy=False, states=states)) for sid in study_ids}


def _read_rdb(
    store: RDBStorage, study_ids: list[int], states: Container[TrialState] | None
) -> dict[int, list[FrozenTrial]]:
    import sqlalchemy as sa

    m = rdb_models()

    tt = m.TrialModel.__table__
    query = sa.select(
        tt.c.trial_id, tt.c.number, tt.c.study_id, tt.c.state, tt.c.datetime_start, tt.c.datetime_complete
    ).where(tt.c.study_id.in_(study_ids))
    if states is not None:
        query = query.where(tt.c.state.in_(list(states)))  # type: ignore[arg-type]
    with store.engine.connect() as conn:
        base = conn.execute(query.order_by(tt.c.trial_id)).all()
        ids = sa.select(tt.c.trial_id).where(tt.c.study_id.in_(study_ids))

        def children(model, *cols):
            t = model.__table__
            return conn.execute(
                sa.select(t.c.trial_id, *(t.c[c] for c in cols))
                .where(t.c.trial_id.in_(ids))
                .order_by(t.c[model.__mapper__.primary_key[0].name])
            ).all()

        values = children(m.TrialValueModel, "objective", "value", "value_type")
        params = children(m.TrialParamModel, "param_name", "param_value", "distribution_json")
        user = children(m.TrialUserAttributeModel, "key", "value_json")
        system = children(m.TrialSystemAttributeModel, "key", "value_json")
        inter = children(m.TrialIntermediateValueModel, "step", "intermediate_value", "intermediate_value_type")
    parts: dict[int, dict[str, Any]] = {
        r.trial_id: {"values": {}, "params": {}, "dists": {}, "user": {}, "system": {}, "inter": {}} for r in base
    }
    for tid, obj, v, kind in values:
        if tid in parts:
            parts[tid]["values"][obj] = m.TrialValueModel.stored_repr_to_value(v, kind)
    for tid, name, v, dist_json in params:
        if tid in parts:
            dist = _distribution(dist_json)
            parts[tid]["params"][name] = dist.to_external_repr(v)
            parts[tid]["dists"][name] = dist
    for rows, slot in ((user, "user"), (system, "system")):
        for tid, key, v in rows:
            if tid in parts:
                parts[tid][slot][key] = json.loads(v)
    for tid, step, v, kind in inter:
        if tid in parts:
            parts[tid]["inter"][step] = m.TrialIntermediateValueModel.stored_repr_to_intermediate_value(v, kind)
    out: dict[int, list[FrozenTrial]] = {sid: [] for sid in study_ids}
    for r in base:
        p = parts[r.trial_id]
        vals = [p["values"][k] for k in sorted(p["values"])] or None
        out[r.study_id].append(
            FrozenTrial(
                number=r.number,
                state=r.state,
                value=None,
                values=vals,
                datetime_start=_local(r.datetime_start),
                datetime_complete=_local(r.datetime_complete),
                params=p["params"],
                distributions=p["dists"],
                user_attrs=p["user"],
                system_attrs=p["system"],
                intermediate_values=p["inter"],
                trial_id=r.trial_id,
            )
        )
    for trials in out.values():
        trials.sort(key=lambda t: t.number)
    return out


def trials_by_name(
    storage: BaseStorage, names: Sequence[str], states: Container[TrialState] | None = None
) -> dict[str, list[FrozenTrial]]:
    """``read_trials`` by study name; a name with no study maps to no trials."""
    store = backend(storage)
    ids = {}
    for n in names:  # one indexed lookup per name: reading every study's summary costs more
        try:
            ids[n] = store.get_study_id_from_name(n)
        except KeyError:
            pass
    found = read_trials(storage, [ids[n] for n in names if n in ids], states)
    return {n: found[ids[n]] if n in ids else [] for n in names}


def finished_counts(storage: BaseStorage) -> dict[str, tuple[int, float | None]]:
    """Per study name: the number of COMPLETE trials and the best (largest) first objective value, with one
    grouped query on an RDB storage. A progress view polls this every few seconds, so it must not read trials."""
    store = backend(storage)
    if isinstance(store, RDBStorage):
        import sqlalchemy as sa

        m = rdb_models()

        st, tt, vt = m.StudyModel.__table__, m.TrialModel.__table__, m.TrialValueModel.__table__
        query = (
            sa.select(st.c.study_name, sa.func.count(tt.c.trial_id), sa.func.max(vt.c.value))
            .select_from(
                st.join(tt, tt.c.study_id == st.c.study_id).outerjoin(
                    vt, sa.and_(vt.c.trial_id == tt.c.trial_id, vt.c.objective == 0)
                )
            )
            .where(tt.c.state == TrialState.COMPLETE.name)
            .group_by(st.c.study_name)
        )
        with store.engine.connect() as conn:
            return {name: (int(n), None if best is None else float(best)) for name, n, best in conn.execute(query)}
    out = {}
    for summary in store.get_all_studies():
        done = store.get_all_trials(study_id_of(summary), deepcopy=False, states=(TrialState.COMPLETE,))
        vals = [t.values[0] for t in done if t.values]
        if done:
            out[summary.study_name] = (len(done), max(vals, default=None))
    return out
