"""Repository method for delivery metrics: counted and averaged inside the database.

The definitions are in `release.metrics`. Two statements, each one aggregate query: the
deploys of the window with, per deploy, correlated subqueries for whether it failed,
when its failure started and what restored it; and the flags. No row is brought back to
Python to be looped over.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, Select, and_, case, exists, func, or_, select
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from release.flags import FlagStatus
from release.lifecycle import State
from release.metrics import DeliveryMetrics
from release.production import ProductionDeploy
from storage import models

PRODUCTION = "production"
PROMOTION, ROLLBACK = "promotion", "rollback"
#: A deploy of a release in one of these states is a change failure.
FAILED_STATES = (State.FAILED.value, State.ROLLED_BACK.value)
#: A production promotion with one of these outcomes is a change (a failed one is not).
CHANGE_OUTCOMES = (ProductionDeploy.SUCCEEDED.value, ProductionDeploy.UNKNOWN.value)


class millis_between(FunctionElement[float]):
    """`later − earlier` in whole milliseconds, as a number (NULL when either is NULL).

    SQLite keeps a UtcDateTime as naive UTC text (`2026-11-24 12:00:00.000000`), which
    `julianday()` reads; PostgreSQL keeps `timestamptz`, whose difference is an interval.
    """

    type = Float()
    name = "millis_between"
    inherit_cache = True


@compiles(millis_between, "sqlite")
def _millis_sqlite(element: millis_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"ROUND((julianday({later}) - julianday({earlier})) * 86400000.0)"


@compiles(millis_between, "postgresql")
def _millis_postgresql(element: millis_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"ROUND(EXTRACT(EPOCH FROM ({later}) - ({earlier})) * 1000)"


@compiles(millis_between)
def _millis_other(element: millis_between, compiler: SQLCompiler, **kw: Any) -> str:
    raise CompileError(f"no time difference for the {compiler.dialect.name} dialect")


class MetricsRepository:
    _session: Session

    def delivery_metrics(
        self, since: datetime, until: datetime, *, sprint: timedelta
    ) -> DeliveryMetrics:
        """The delivery metrics of the window `[since, until)`; see `release.metrics`."""
        if until <= since:
            raise ValueError("a metrics window ends after it starts")
        deploys, failures, restored, restore_ms, lead_ms = self._session.execute(
            _deploys_query(since, until)
        ).one()
        lifetime_ms, overdue = self._session.execute(_flags_query(since, until)).one()
        return DeliveryMetrics.of(
            until - since,
            deploys=int(deploys),
            change_failures=int(failures or 0),
            restored=int(restored),
            mean_time_to_restore=_millis(restore_ms),
            lead_time=_millis(lead_ms),
            flag_lifetime=_millis(lifetime_ms),
            overdue_flags=int(overdue),
            sprint=sprint,
        )


def _deploys_query(
    since: datetime, until: datetime
) -> Select[int, int | None, int, float | None, float | None]:
    d = aliased(models.Deployment, name="d")
    r = aliased(models.Release, name="r")
    incident = aliased(models.Incident, name="i")
    hotfix = aliased(models.Release, name="h")
    at = func.coalesce(d.finished_at, d.started_at)
    failed = or_(
        r.state.in_(FAILED_STATES),
        exists().where(incident.release_id == d.release_id),
        exists().where(  # a hotfix that was cancelled fixed nothing
            hotfix.fixes_release_id == d.release_id, hotfix.state != State.CANCELLED.value
        ),
    )
    first_incident = (
        select(func.min(incident.opened_at))
        .where(incident.release_id == d.release_id)
        .scalar_subquery()
    )
    # One row per production deploy (a change) in the window.
    changes = (
        select(
            d.release_id.label("release_id"),
            d.finished_at.label("finished_at"),
            r.created_at.label("created_at"),
            case((failed, 1), else_=0).label("failure"),
            at.label("deployed_at"),
            first_incident.label("first_incident"),
        )
        .join_from(d, r, r.id == d.release_id)
        .where(
            d.environment == PRODUCTION,
            d.kind == PROMOTION,
            d.outcome.in_(CHANGE_OUTCOMES),
            at >= since,
            at < until,
        )
        .subquery("changes")
    )
    # For a failure: the first successful production deploy after the failing one that is
    # of another release, or that explicitly answers one of the failing release's incidents.
    x = aliased(models.Deployment, name="x")
    answered = aliased(models.Incident, name="ai")
    restore = (
        select(x.finished_at)
        .where(
            x.environment == PRODUCTION,
            x.kind.in_((PROMOTION, ROLLBACK)),
            x.outcome == ProductionDeploy.SUCCEEDED.value,
            x.finished_at > changes.c.deployed_at,
            or_(
                x.release_id != changes.c.release_id,
                x.answers_incident_id.in_(
                    select(answered.id)
                    .where(answered.release_id == changes.c.release_id)
                    .correlate(changes)  # two levels up: not found by auto-correlation
                ),
            ),
        )
        .order_by(x.finished_at)
        .limit(1)
        .correlate(changes)
        .scalar_subquery()
    )
    failures = select(
        changes.c.failure,
        changes.c.deployed_at,
        changes.c.first_incident,
        changes.c.finished_at,
        changes.c.created_at,
        case((changes.c.failure == 1, restore)).label("restored_at"),
    ).subquery("failures")
    f = failures.c
    # The failure started when its incident was opened, or, with no incident opened before
    # the restore (one recorded afterwards), when the failing deploy went out.
    start = case(
        (
            and_(f.first_incident.is_not(None), f.first_incident < f.restored_at),
            f.first_incident,
        ),
        else_=f.deployed_at,
    )
    return select(
        func.count(),
        func.sum(f.failure),
        func.count(f.restored_at),
        func.avg(millis_between(f.restored_at, start)),
        func.avg(millis_between(f.finished_at, f.created_at)),
    ).select_from(failures)


def _flags_query(since: datetime, until: datetime) -> Select[float | None, int]:
    flag = models.Flag
    removed = and_(flag.removed_at >= since, flag.removed_at < until, flag.launched_at.is_not(None))
    lifetime = (
        select(func.avg(millis_between(flag.removed_at, flag.launched_at)))
        .where(removed)
        .scalar_subquery()
    )
    overdue = (
        select(func.count())
        .select_from(flag)
        .where(flag.status == FlagStatus.LAUNCHED.value, flag.remove_by < until)
        .scalar_subquery()
    )
    return select(lifetime, overdue)


def _millis(value: float | Decimal | None) -> timedelta | None:
    return None if value is None else timedelta(milliseconds=float(value))
