"""The unit of work: one transaction, the repository methods inside it, and nothing else.

Commands check and act inside one `with store.transaction() as uow:` block, so a check can
never be made outside the transaction that acts on it. Reads that lead to a write lock the
release row first (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from release.clock import Clock
from release.lifecycle import State
from release.records import (
    AuditEntry,
    Grant,
    ReleaseRecord,
    ReviewRecord,
    SignOffRecord,
)
from release.review import Decision
from release.roles import Role
from storage import models
from storage.cadence import CadenceRepository
from storage.db import make_sessionmaker


class Conflict(Exception):
    """Someone else changed the same thing at the same moment; nothing was written."""


class Store:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self._sessions: sessionmaker[Session] = make_sessionmaker(engine)

    @contextmanager
    def transaction(self) -> Iterator[UnitOfWork]:
        try:
            with self._sessions.begin() as session:
                yield UnitOfWork(session, self.clock)
        except (IntegrityError, StaleDataError) as error:
            raise Conflict(str(error.__class__.__name__)) from error

    def ping(self) -> None:
        with self._sessions() as session:
            session.execute(select(1))


class UnitOfWork(CadenceRepository):
    def __init__(self, session: Session, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    def now(self) -> datetime:
        return self._clock.now()

    # -- releases ---------------------------------------------------------------

    def _release_row(self, version: str, *, lock: bool) -> models.Release | None:
        query = select(models.Release).where(models.Release.version == version)
        if lock:
            query = query.with_for_update()
        return self._session.scalars(query).one_or_none()

    def release(self, version: str, *, lock: bool = False) -> ReleaseRecord | None:
        row = self._release_row(version, lock=lock)
        return _release(row) if row else None

    def releases(self, *, open_only: bool = False) -> list[ReleaseRecord]:
        query = select(models.Release).order_by(models.Release.created_at, models.Release.id)
        if open_only:
            finished = [State.RELEASED, State.ROLLED_BACK, State.CANCELLED]
            query = query.where(models.Release.state.not_in([s.value for s in finished]))
        return [_release(r) for r in self._session.scalars(query)]

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
        return _release(row)

    def update_release(self, version: str, **changes: Any) -> ReleaseRecord:
        row = self._release_row(version, lock=True)
        if row is None:
            raise LookupError(version)
        for name, value in changes.items():
            setattr(row, name, value.value if isinstance(value, State) else value)
        row.updated_at = self.now()
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

    # -- reviews ----------------------------------------------------------------

    def open_review(
        self,
        release_id: int,
        *,
        opened_by: str,
        compliance_items: tuple[str, ...] = (),
        kind: str = "readiness",
    ) -> ReviewRecord:
        """A fresh review; any review still open on the release is superseded."""
        for old in self._session.scalars(
            select(models.Review).where(
                models.Review.release_id == release_id, models.Review.status == "open"
            )
        ):
            old.status = "superseded"
            old.closed_at = self.now()
            old.revision += 1
        row = models.Review(
            release_id=release_id,
            kind=kind,
            status="open",
            opened_by=opened_by,
            opened_at=self.now(),
            compliance_items=list(compliance_items),
            revision=1,
        )
        self._session.add(row)
        self._session.flush()
        return self.review(row.id)  # type: ignore[return-value]

    def review(self, review_id: int) -> ReviewRecord | None:
        row = self._session.scalars(
            select(models.Review)
            .where(models.Review.id == review_id)
            .options(
                selectinload(models.Review.sign_offs),
                selectinload(models.Review.ticks),
                selectinload(models.Review.release),
            )
            .execution_options(populate_existing=True)
        ).one_or_none()
        return _review(row) if row else None

    def reviews_of(self, release_id: int, *, status: str | None = None) -> list[ReviewRecord]:
        query = select(models.Review.id).where(models.Review.release_id == release_id)
        if status is not None:
            query = query.where(models.Review.status == status)
        ids = self._session.scalars(query.order_by(models.Review.id)).all()
        return [r for i in ids if (r := self.review(i)) is not None]

    def close_reviews(
        self, release_id: int, status: str, *, approved_too: bool = False
    ) -> list[ReviewRecord]:
        """Close the open review (and an approved one, when `approved_too`) as `status`."""
        closing = ["open", "approved"] if approved_too else ["open"]
        closed = []
        for row in self._session.scalars(
            select(models.Review).where(
                models.Review.release_id == release_id, models.Review.status.in_(closing)
            )
        ):
            row.status = status
            row.closed_at = self.now()
            row.revision += 1
            closed.append(row.id)
        self._session.flush()
        return [r for i in closed if (r := self.review(i)) is not None]

    def close_review(self, review_id: int, status: str) -> None:
        row = self._session.get_one(models.Review, review_id)
        row.status = status
        row.closed_at = self.now()
        row.revision += 1
        self._session.flush()

    def set_review_message(self, review_id: int, channel_id: str, ts: str) -> None:
        row = self._session.get_one(models.Review, review_id)
        row.channel_id = channel_id
        row.message_ts = ts

    def add_sign_off(
        self, review_id: int, role: Role, user_id: str, decision: Decision, reason: str = ""
    ) -> None:
        self._session.add(
            models.SignOff(
                review_id=review_id,
                role=role.value,
                user_id=user_id,
                decision=decision.value,
                reason=reason,
                signed_at=self.now(),
            )
        )
        self._session.get_one(models.Review, review_id).revision += 1
        self._session.flush()

    def set_tick(self, review_id: int, item: str, user_id: str, ticked: bool) -> bool:
        """Tick or untick one compliance item; True when that changed anything."""
        existing = self._session.scalars(
            select(models.ComplianceTick).where(
                models.ComplianceTick.review_id == review_id, models.ComplianceTick.item == item
            )
        ).one_or_none()
        if ticked == (existing is not None):
            return False
        if existing is not None:
            self._session.delete(existing)
        else:
            self._session.add(
                models.ComplianceTick(
                    review_id=review_id, item=item, user_id=user_id, ticked_at=self.now()
                )
            )
        self._session.get_one(models.Review, review_id).revision += 1
        self._session.flush()
        return True

    # -- roles ------------------------------------------------------------------

    def roles_of(self, user_id: str) -> set[Role]:
        rows = self._session.scalars(
            select(models.RoleGrant.role).where(models.RoleGrant.user_id == user_id)
        )
        return {r for name in rows if (r := Role.parse(name)) is not None}

    def grants(self) -> list[Grant]:
        rows = self._session.scalars(
            select(models.RoleGrant).order_by(models.RoleGrant.role, models.RoleGrant.user_id)
        )
        return [
            Grant(r.user_id, Role(r.role), r.granted_by, r.granted_at)
            for r in rows
            if Role.parse(r.role) is not None
        ]

    def grant(self, user_id: str, role: Role, *, by: str) -> bool:
        """Grant `role`; False when the user already held it."""
        if role in self.roles_of(user_id):
            return False
        self._session.add(
            models.RoleGrant(user_id=user_id, role=role.value, granted_by=by, granted_at=self.now())
        )
        self._session.flush()
        return True

    def revoke(self, user_id: str, role: Role) -> bool:
        row = self._session.scalars(
            select(models.RoleGrant).where(
                models.RoleGrant.user_id == user_id, models.RoleGrant.role == role.value
            )
        ).one_or_none()
        if row is None:
            return False
        self._session.delete(row)
        self._session.flush()
        return True

    def count_holders(self, role: Role, *, lock: bool = False) -> int:
        """How many hold `role`; with `lock`, their grants stay locked until commit."""
        query = select(models.RoleGrant.id).where(models.RoleGrant.role == role.value)
        return len(self._session.scalars(query.with_for_update() if lock else query).all())

    # -- audit ------------------------------------------------------------------

    def audit(self, actor: str, action: str, release_id: int | None = None, **details: Any) -> None:
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
    )


def _review(row: models.Review) -> ReviewRecord:
    return ReviewRecord(
        id=row.id,
        release_id=row.release_id,
        version=row.release.version,
        kind=row.kind,
        status=row.status,
        opened_by=row.opened_by,
        opened_at=row.opened_at,
        channel_id=row.channel_id,
        message_ts=row.message_ts,
        revision=row.revision,
        compliance_items=tuple(row.compliance_items or ()),
        ticked={t.item: t.user_id for t in row.ticks},
        sign_offs=tuple(
            SignOffRecord(Role(s.role), s.user_id, Decision(s.decision), s.reason, s.signed_at)
            for s in row.sign_offs
        ),
    )
