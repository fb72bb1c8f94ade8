"""Repository methods for the release cadence: freezes, the deploy lock, scheduled posts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from release.freezes import Freeze
from release.records import DeployLockRecord, LockOutcome
from storage import models

PRODUCTION = "production"


class CadenceRepository:
    _session: Session

    def now(self) -> datetime:
        raise NotImplementedError

    # -- freezes -------------------------------------------------------------------

    def freezes(self, *, ending_after: datetime | None = None) -> list[Freeze]:
        """Freezes not cancelled, in start order (those ending after `ending_after` only)."""
        query = select(models.Freeze).where(models.Freeze.cancelled_at.is_(None))
        if ending_after is not None:
            query = query.where(models.Freeze.ends > ending_after)
        rows = self._session.scalars(query.order_by(models.Freeze.starts, models.Freeze.id))
        return [_freeze(r) for r in rows]

    def freeze(self, freeze_id: int) -> Freeze | None:
        row = self._session.get(models.Freeze, freeze_id)
        return _freeze(row) if row is not None and row.cancelled_at is None else None

    def lock_freezes(self) -> None:
        """Serialise freeze scheduling (the overlap check) on the production lock row."""
        self._lock_row()

    def add_freeze(
        self, starts: datetime, ends: datetime, reason: str, *, short_notice: bool, by: str
    ) -> Freeze:
        row = models.Freeze(
            starts=starts,
            ends=ends,
            reason=reason,
            short_notice=short_notice,
            created_by=by,
            created_at=self.now(),
        )
        self._session.add(row)
        self._session.flush()
        return _freeze(row)

    def cancel_freeze(self, freeze_id: int, *, by: str) -> Freeze | None:
        row = self._session.get(models.Freeze, freeze_id, with_for_update=True)
        if row is None or row.cancelled_at is not None:
            return None
        row.cancelled_at = self.now()
        row.cancelled_by = by
        self._session.flush()
        return _freeze(row)

    # -- the production deploy lock -----------------------------------------------

    def _lock_row(self) -> models.DeployLock:
        return self._session.scalars(
            select(models.DeployLock).where(models.DeployLock.name == PRODUCTION).with_for_update()
        ).one()

    def deploy_lock(self, *, lock: bool = False) -> DeployLockRecord | None:
        if lock:
            return _lock(self._lock_row())
        return _lock(self._session.get_one(models.DeployLock, PRODUCTION))

    def acquire_deploy_lock(
        self, holder: str, version: str, actor: str, lease: timedelta
    ) -> LockOutcome:
        row = self._lock_row()
        current = _lock(row)
        now = self.now()
        if current is not None and current.is_live(now):
            return LockOutcome(acquired=False, held_by=current)
        row.holder, row.version, row.actor = holder, version, actor
        row.acquired_at, row.expires_at = now, now + lease
        self._session.flush()
        return LockOutcome(acquired=True, reclaimed_from=current)

    def renew_deploy_lock(self, holder: str, lease: timedelta) -> bool:
        row = self._lock_row()
        if row.holder != holder:
            return False
        row.expires_at = self.now() + lease
        return True

    def release_deploy_lock(self, holder: str | None = None) -> DeployLockRecord | None:
        """Clear the lock (only if `holder` holds it, when given); returns what was cleared."""
        row = self._lock_row()
        current = _lock(row)
        if current is None or (holder is not None and row.holder != holder):
            return None
        row.holder = row.version = row.actor = None
        row.acquired_at = row.expires_at = None
        self._session.flush()
        return current

    # -- scheduled posts ------------------------------------------------------------

    def first_tick(self) -> datetime:
        """When any instance first looked for due posts here (recorded now, the first time).

        Posts due before then belong to a time the bot never knew: they are not sent late.
        """
        row = self._session.get(models.BotFact, "first_tick")
        if row is not None:
            return row.at
        try:
            with self._session.begin_nested():
                self._session.add(models.BotFact(name="first_tick", at=self.now()))
        except IntegrityError:
            pass  # another instance's first tick, at the same moment
        return self._session.get_one(models.BotFact, "first_tick").at

    def claim_post(
        self, kind: str, key: str, due_at: datetime, *, instance: str, lease: timedelta
    ) -> bool:
        """Claim one scheduled post for `instance`: True for exactly one claimant at a time.

        A claim whose sender died unsent is taken over once its lease has run out.
        """
        now = self.now()
        try:
            with self._session.begin_nested():
                self._session.add(
                    models.ScheduledPost(
                        kind=kind,
                        key=key,
                        due_at=due_at,
                        status="claimed",
                        claimed_by=instance,
                        claimed_until=now + lease,
                        late=False,
                    )
                )
            return True
        except IntegrityError:
            pass
        row = self._post_row(kind, key, due_at, lock=True)
        if row is not None and row.status == "claimed" and row.claimed_until <= now:
            row.claimed_by, row.claimed_until = instance, now + lease
            return True
        return False

    def mark_post_sent(
        self, kind: str, key: str, due_at: datetime, *, instance: str, late: bool
    ) -> None:
        row = self._post_row(kind, key, due_at, lock=True)
        if row is not None and row.claimed_by == instance:
            row.status, row.sent_at, row.late = "sent", self.now(), late

    def _post_row(
        self, kind: str, key: str, due_at: datetime, *, lock: bool
    ) -> models.ScheduledPost | None:
        query = select(models.ScheduledPost).where(
            models.ScheduledPost.kind == kind,
            models.ScheduledPost.key == key,
            models.ScheduledPost.due_at == due_at,
        )
        return self._session.scalars(query.with_for_update() if lock else query).one_or_none()


def _freeze(row: models.Freeze) -> Freeze:
    return Freeze(
        id=row.id,
        starts=row.starts,
        ends=row.ends,
        reason=row.reason,
        short_notice=row.short_notice,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _lock(row: models.DeployLock) -> DeployLockRecord | None:
    if row.holder is None or row.acquired_at is None or row.expires_at is None:
        return None
    return DeployLockRecord(
        holder=row.holder,
        version=row.version or "",
        actor=row.actor or "",
        acquired_at=row.acquired_at,
        expires_at=row.expires_at,
    )
