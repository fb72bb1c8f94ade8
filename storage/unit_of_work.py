"""The unit of work: one transaction, the repository methods inside it, and nothing else.

Commands check and act inside one `with store.transaction() as uow:` block, so a check can
never be made outside the transaction that acts on it. Reads that lead to a write lock the
release row first (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, String, and_, cast, delete, null, or_, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from release.audit import AuditAction
from release.clock import Clock, SystemClock
from release.freezes import Freeze
from release.lifecycle import State
from release.notes import ReleaseNotes
from release.records import (
    AuditEntry,
    ReleaseRecord,
)
from storage import models
from storage.cadence import CadenceRepository
from storage.db import make_reader, make_sessionmaker
from storage.insight import InsightRepository
from storage.jobs import JobRecord, JobRepository
from storage.metrics import MetricsRepository
from storage.outbox import OutboxRepository
from storage.read_cache import ReadCache
from storage.retention import RetentionRepository
from storage.reviews import ReviewRepository, RoleRepository

T = TypeVar("T")

_READ_VERSION = "SELECT n FROM read_version WHERE id = 1"

#: The longest a read-only transaction waits for the database (`Store.reading`).
READ_SECONDS = 2.5


class Conflict(Exception):
    """Someone else changed the same thing at the same moment; nothing was written."""


class Store:
    """Transactions over one database.

    `clock` is the policy's clock (windows, freezes, the deploy lock, every recorded
    instant); `timer` paces retries and claims, so a test may stop the policy's clock
    without stopping retries. Both read the system clock in production.
    """

    def __init__(
        self, engine: Engine, clock: Clock, timer: Clock | None = None, *, readers: int = 4
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.timer: Clock = timer or SystemClock()
        self._sessions: sessionmaker[Session] = make_sessionmaker(engine)
        self._reader = make_reader(engine, size=readers, bound_seconds=READ_SECONDS)
        self._reads: sessionmaker[Session] = make_sessionmaker(self._reader)
        self._cache = ReadCache()
        self._after_messages: list[Callable[[], None]] = []
        self._after_jobs: list[Callable[[], None]] = []

    def dispose(self) -> None:
        """Close every connection, the readers' (a pool of their own) too."""
        self._reader.dispose()
        self.engine.dispose()

    def after_messages(self, wake: Callable[[], None]) -> None:
        """Call `wake` after every commit that recorded a message to send."""
        self._after_messages.append(wake)

    def after_jobs(self, wake: Callable[[], None]) -> None:
        """Call `wake` after every commit that recorded a job to run."""
        self._after_jobs.append(wake)

    @contextmanager
    def transaction(self) -> Iterator[UnitOfWork]:
        try:
            with self._sessions.begin() as session:
                uow = UnitOfWork(session, self.clock, self.timer)
                yield uow
        except (IntegrityError, StaleDataError) as error:
            raise Conflict(str(error.__class__.__name__)) from error
        if uow.new_messages:
            for wake in self._after_messages:
                wake()
        if uow.new_jobs:
            for wake in self._after_jobs:
                wake()

    @contextmanager
    def reading(self) -> Iterator[UnitOfWork]:
        """A read-only transaction that does not queue behind writers; a write in it fails.

        It waits at most `READ_SECONDS` for the database (a lock, a slow query): then it
        fails with OperationalError rather than hold a thread and a connection.
        """
        with self._reads.begin() as session:
            yield UnitOfWork(session, self.clock, self.timer, self._cache)

    def first_seen(self, signature: str, timestamp: int) -> bool:
        """Record an accepted request's signature: False when it was seen before (a replay).

        Its own short transaction, so two instances receiving the same request race on
        the primary key and exactly one wins.
        """
        try:
            with self._sessions.begin() as session:
                session.add(
                    models.SeenRequest(
                        signature=signature, timestamp=timestamp, seen_at=self.timer.now()
                    )
                )
        except IntegrityError:
            return False
        return True

    def forget_requests(self, older_than: timedelta) -> int:
        """Drop remembered signatures once no replay of them could be fresh any more."""
        with self._sessions.begin() as session:
            result = session.execute(
                delete(models.SeenRequest).where(
                    models.SeenRequest.seen_at < self.timer.now() - older_than
                )
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def ping(self) -> None:
        with self._sessions() as session:
            session.execute(select(1))


class UnitOfWork(
    ReviewRepository,
    RoleRepository,
    CadenceRepository,
    OutboxRepository,
    JobRepository,
    InsightRepository,
    MetricsRepository,
    RetentionRepository,
):
    def __init__(
        self, session: Session, clock: Clock, timer: Clock, cache: ReadCache | None = None
    ) -> None:
        self._session = session
        self._clock = clock
        self._timer = timer
        self._cache = cache  # only a read-only transaction has one (Store.reading)
        self._version: int | None = None
        self.new_messages = False  # a message was recorded: wake the sender
        self.new_jobs = False  # a job was recorded: wake the runner

    def now(self) -> datetime:
        return self._clock.now()

    def cached(self, key: Hashable, read: Callable[[UnitOfWork], T]) -> T:
        """`read(self)`, or the answer it gave at this snapshot's version of its sources.

        `read` may read only the tables in storage.read_cache.SOURCES and must return an
        immutable answer. Outside a read-only transaction it is simply called.
        """
        if self._cache is None:
            return read(self)
        if self._version is None:
            # Core, not the ORM: this runs on every cached read.
            self._version = self._session.connection().exec_driver_sql(_READ_VERSION).scalar()
        return self._cache.get(self._version, key, lambda: read(self))

    def timer_now(self) -> datetime:
        return self._timer.now()

    def add_message(self, lane: str, kind: str, payload: dict[str, Any]) -> None:
        super().add_message(lane, kind, payload)
        self.new_messages = True

    def add_job(
        self, kind: str, release_id: int | None, *, actor: str, step: str, data: dict[str, Any]
    ) -> JobRecord:
        self.new_jobs = True
        return super().add_job(kind, release_id, actor=actor, step=step, data=data)

    # -- releases ---------------------------------------------------------------

    def _release_row(self, version: str, *, lock: bool) -> models.Release | None:
        query = select(models.Release).where(models.Release.version == version)
        if lock:
            query = query.with_for_update()
        return self._session.scalars(query).one_or_none()

    def release_by_id(self, release_id: int, *, lock: bool = False) -> ReleaseRecord | None:
        query = select(models.Release).where(models.Release.id == release_id)
        row = self._session.scalars(query.with_for_update() if lock else query).one_or_none()
        return _release(row) if row else None

    def release(self, version: str, *, lock: bool = False) -> ReleaseRecord | None:
        row = self._release_row(version, lock=lock)
        return _release(row) if row else None

    def releases(self, *, open_only: bool = False) -> list[ReleaseRecord]:
        """Every release, oldest first; only those not finished (`open_only`)."""
        query = select(models.Release).order_by(models.Release.created_at, models.Release.id)
        if open_only:
            finished = [State.RELEASED, State.ROLLED_BACK, State.CANCELLED]
            query = query.where(models.Release.state.not_in([s.value for s in finished]))
        return [_release(r) for r in self._session.scalars(query)]

    def production_facts(self) -> list[tuple[str, str, str | None]]:
        """(version, state, outcome) for every release production may have served: each
        distinct outcome of its production deploy rows, and None where the release records
        a production deployment id.

        One statement, so one snapshot, and columns rather than rows: the deployments grow
        with every deploy, the answer only with the releases that reached production.
        """
        release, deployment = models.Release, models.Deployment
        deployed = (
            select(release.version, release.state, deployment.outcome)
            .join(deployment, deployment.release_id == release.id)
            .where(deployment.environment == "production")
        )
        recorded = select(
            release.version, release.state, cast(null(), String).label("outcome")
        ).where(release.production_deployment_id.is_not(None))
        rows = self._session.execute(union(deployed, recorded))
        return [(version, state, outcome) for version, state, outcome in rows]

    def add_release(
        self, version: str, *, kind: str, branch: str, started_by: str, reason: str = ""
    ) -> ReleaseRecord:
        now = self.now()
        row = models.Release(
            version=version,
            kind=kind,
            state=State.PLANNED.value,
            branch=branch,
            reason=reason,
            notes="",
            regression_passed=False,
            started_by=started_by,
            created_at=now,
            updated_at=now,
        )
        self._session.add(row)
        self._session.flush()
        self.homes_stale()
        return _release(row)

    def _changed(self, version: str) -> models.Release:
        row = self._release_row(version, lock=True)
        if row is None:
            raise LookupError(version)
        row.updated_at = self.now()
        return row

    def move_release(self, version: str, state: State) -> ReleaseRecord:
        row = self._changed(version)
        row.state = state.value
        self._session.flush()
        self.homes_stale()
        return _release(row)

    def add_freeze(
        self, starts: datetime, ends: datetime, reason: str, *, short_notice: bool, by: str
    ) -> Freeze:
        freeze = super().add_freeze(starts, ends, reason, short_notice=short_notice, by=by)
        self.homes_stale()
        return freeze

    def cancel_freeze(self, freeze_id: int, *, by: str) -> Freeze | None:
        freeze = super().cancel_freeze(freeze_id, by=by)
        self.homes_stale()
        return freeze

    def set_regression(
        self, version: str, *, passed: bool, staging_deployment_id: str, staging_sha: str = ""
    ) -> ReleaseRecord:
        """A regression result belongs to the staging build it tested."""
        row = self._changed(version)
        if staging_sha or row.staging_deployment_id != staging_deployment_id:
            row.staging_sha = staging_sha or None  # (kept when the same build is re-tested)
        row.regression_passed, row.staging_deployment_id = passed, staging_deployment_id
        self._session.flush()
        return _release(row)

    def set_staging_deployment(
        self, version: str, deployment_id: str, sha: str = ""
    ) -> ReleaseRecord:
        row = self._changed(version)
        row.staging_deployment_id, row.staging_sha = deployment_id, sha or None
        self._session.flush()
        return _release(row)

    def set_production_deployment(self, version: str, deployment_id: str) -> ReleaseRecord:
        row = self._changed(version)
        row.production_deployment_id = deployment_id
        self._session.flush()
        return _release(row)

    def set_notes(self, version: str, notes: ReleaseNotes) -> ReleaseRecord:
        row = self._changed(version)
        row.notes_data = notes.to_data()
        self._session.flush()
        return _release(row)

    def set_branch_point(self, version: str, sha: str) -> ReleaseRecord:
        row = self._changed(version)
        row.branch_point = sha
        self._session.flush()
        return _release(row)

    def record_artefact(
        self,
        release_id: int,
        kind: str,
        *,
        by: str,
        outcome: str = "",
        url: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        self._session.add(
            models.Artefact(
                release_id=release_id,
                kind=kind,
                outcome=outcome,
                url=url,
                recorded_by=by,
                recorded_at=self.now(),
                details=details or {},
            )
        )

    # -- audit ------------------------------------------------------------------

    def audit(
        self, actor: str, action: AuditAction, release_id: int | None = None, **details: Any
    ) -> None:
        self._session.add(
            models.AuditEvent(
                at=self.now(), actor=actor, action=action, release_id=release_id, details=details
            )
        )

    def history(self, release_id: int, limit: int = 10) -> list[AuditEntry]:
        rows = self._session.execute(
            select(models.AuditEvent, models.Release.version)
            .join(models.Release, models.Release.id == models.AuditEvent.release_id)
            .where(models.AuditEvent.release_id == release_id)
            .order_by(models.AuditEvent.id.desc())
            .limit(limit)
        ).all()
        return [
            AuditEntry(e.at, e.actor, e.action, version, dict(e.details))
            for e, version in reversed(rows)
        ]

    def trail(self, release_id: int, version: str) -> list[AuditEntry]:
        """Every audit event of a release, oldest first, with the events about it that name
        it only by version (the deploy lock's, recorded with no release)."""
        events = self._session.scalars(
            select(models.AuditEvent)
            .where(
                or_(
                    models.AuditEvent.release_id == release_id,
                    and_(
                        models.AuditEvent.release_id.is_(None),
                        models.AuditEvent.details["version"].as_string() == version,
                    ),
                )
            )
            .order_by(models.AuditEvent.id)
        )
        return [AuditEntry(e.at, e.actor, e.action, version, dict(e.details)) for e in events]

    def artefacts(self, release_id: int) -> list[dict[str, Any]]:
        rows = self._session.scalars(
            select(models.Artefact)
            .where(models.Artefact.release_id == release_id)
            .order_by(models.Artefact.id)
        )
        return [
            {
                "kind": r.kind,
                "outcome": r.outcome,
                "url": r.url,
                "recorded_by": r.recorded_by,
                "recorded_at": r.recorded_at.isoformat(),
                "details": dict(r.details),
            }
            for r in rows
        ]


def _release(row: models.Release) -> ReleaseRecord:
    return ReleaseRecord(
        id=row.id,
        version=row.version,
        kind=row.kind,
        state=State(row.state),
        branch=row.branch,
        regression_passed=row.regression_passed,
        staging_deployment_id=row.staging_deployment_id,
        production_deployment_id=row.production_deployment_id,
        started_by=row.started_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        reason=row.reason,
        notes=row.notes,
        notes_data=ReleaseNotes.from_data(row.notes_data) if row.notes_data else None,
        branch_point=row.branch_point,
        staging_sha=row.staging_sha,
    )
