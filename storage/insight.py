"""Repository methods for feature flags and incidents (the only SQL they need)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from release.flags import FlagScope, FlagStatus, ScopeKind
from release.records import FlagRecord, IncidentRecord
from storage import models


class InsightRepository:
    _session: Session

    def now(self) -> datetime:
        raise NotImplementedError

    # -- feature flags ------------------------------------------------------------

    def add_flag(self, key: str, scope: FlagScope, rollback_plan: str, *, by: str) -> FlagRecord:
        row = models.Flag(
            key=key,
            scope_kind=scope.kind.value,
            scope_value=scope.value,
            rollback_plan=rollback_plan,
            status=FlagStatus.SCOPED.value,
            created_by=by,
            created_at=self.now(),
        )
        self._session.add(row)
        self._session.flush()
        self.homes_stale()
        return _flag(row)

    def flag(self, key: str, *, lock: bool = False) -> FlagRecord | None:
        row = self._flag_row(key, lock=lock)
        return _flag(row) if row is not None else None

    def _flag_row(self, key: str, *, lock: bool) -> models.Flag | None:
        query = select(models.Flag).where(models.Flag.key == key)
        if lock:
            query = query.with_for_update()
        return self._session.scalars(query).first()

    def flags(self) -> list[FlagRecord]:
        rows = self._session.scalars(select(models.Flag).order_by(models.Flag.id))
        return [_flag(r) for r in rows]

    def launch_flag(self, key: str, remove_by: datetime) -> FlagRecord:
        row = self._flag_row(key, lock=True)
        assert row is not None
        row.status, row.launched_at, row.remove_by = (
            FlagStatus.LAUNCHED.value,
            self.now(),
            remove_by,
        )
        self._session.flush()
        self.homes_stale()
        return _flag(row)

    def remove_flag(self, key: str, *, by: str) -> FlagRecord:
        row = self._flag_row(key, lock=True)
        assert row is not None
        row.status, row.removed_at, row.removed_by = FlagStatus.REMOVED.value, self.now(), by
        self._session.flush()
        self.homes_stale()
        return _flag(row)

    # -- the App Home tab ------------------------------------------------------------

    def open_home(self, user_id: str) -> None:
        """Remember that `user_id` looks at the Home tab: it is republished on changes."""
        name = f"home:{user_id}"[:64]
        if self._session.get(models.BotFact, name) is None:
            self._session.add(models.BotFact(name=name, at=self.now()))

    def home_viewers(self) -> list[str]:
        names = self._session.scalars(
            select(models.BotFact.name).where(models.BotFact.name.like("home:%"))
        )
        return [n.removeprefix("home:") for n in names]

    def homes_stale(self) -> None:
        """Something the Home tab shows changed: republish each viewer's tab after commit.

        One message per viewer, in that viewer's lane, so one refusal or rate limit never
        holds up the others. A viewer whose refresh is still waiting needs no second one:
        that row is locked until this transaction commits, so it cannot be claimed and
        rendered before this change is visible.
        """
        viewers = self.home_viewers()
        if not viewers:
            return
        waiting = set(
            self._session.scalars(
                select(models.OutboxMessage.lane)
                .where(
                    models.OutboxMessage.kind == "home",
                    models.OutboxMessage.status == "pending",
                    models.OutboxMessage.claimed_by.is_(None),
                )
                .with_for_update()
            )
        )
        for user in viewers:
            if f"home:{user}" not in waiting:
                self.add_message(f"home:{user}", "home", {"user": user})

    def add_message(self, lane: str, kind: str, payload: dict[str, object]) -> None:
        raise NotImplementedError

    # -- incidents ------------------------------------------------------------------

    def open_incident(self, release_id: int, summary: str, *, by: str) -> IncidentRecord:
        row = models.Incident(
            release_id=release_id, summary=summary, opened_by=by, opened_at=self.now()
        )
        self._session.add(row)
        self._session.flush()
        self.homes_stale()  # (the metrics on the Home tab change)
        return _incident(row)

    def incident(self, incident_id: int, *, lock: bool = False) -> IncidentRecord | None:
        row = self._session.get(models.Incident, incident_id, with_for_update=lock or None)
        return _incident(row) if row is not None else None

    def resolve_incident(self, incident_id: int, *, by: str) -> IncidentRecord:
        row = self._session.get_one(models.Incident, incident_id)
        row.resolved_by, row.resolved_at = by, self.now()
        self._session.flush()
        self.homes_stale()
        return _incident(row)

    def open_incidents(self, release_id: int | None = None) -> list[IncidentRecord]:
        query = select(models.Incident).where(models.Incident.resolved_at.is_(None))
        if release_id is not None:
            query = query.where(models.Incident.release_id == release_id)
        return [_incident(r) for r in self._session.scalars(query.order_by(models.Incident.id))]

    def link_hotfix(self, release_id: int, *, fixes: int | None, answers: int | None) -> None:
        row = self._session.get_one(models.Release, release_id)
        row.fixes_release_id, row.answers_incident_id = fixes, answers

    def link_rollback(self, deployment_row: int, *, answers: int | None) -> None:
        row = self._session.get_one(models.Deployment, deployment_row)
        row.kind, row.answers_incident_id = "rollback", answers


def _flag(row: models.Flag) -> FlagRecord:
    return FlagRecord(
        id=row.id,
        key=row.key,
        scope=FlagScope(ScopeKind(row.scope_kind), row.scope_value),
        rollback_plan=row.rollback_plan,
        status=FlagStatus(row.status),
        created_by=row.created_by,
        created_at=row.created_at,
        launched_at=row.launched_at,
        remove_by=row.remove_by,
        removed_at=row.removed_at,
    )


def _incident(row: models.Incident) -> IncidentRecord:
    return IncidentRecord(
        id=row.id,
        release_id=row.release_id,
        summary=row.summary,
        opened_by=row.opened_by,
        opened_at=row.opened_at,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
    )
