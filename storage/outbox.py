"""Repository methods for the outbox: messages recorded in a transaction, sent after it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, bindparam, func, select, update
from sqlalchemy.orm import Session

from storage import models

PENDING, SENT, UNDELIVERABLE = "pending", "sent", "undeliverable"


@dataclass(frozen=True)
class OutboxRecord:
    id: int
    lane: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    last_error: str = ""
    reference: str = ""


_Message = models.OutboxMessage
#: The delivery pump asks these on every wake: built once, so SQLAlchemy does not build and
#: key them again each time (that was most of the CPU a claim cost).
_DUE = (_Message.next_attempt_at <= bindparam("now")) & (
    _Message.claimed_until.is_(None) | (_Message.claimed_until <= bindparam("now"))
)
_LANE_HEADS = (
    select(_Message)
    .where(
        _Message.id.in_(
            select(func.min(_Message.id)).where(_Message.status == PENDING).group_by(_Message.lane)
        ),
        _DUE,
    )
    .order_by(_Message.id)
    .limit(bindparam("limit", type_=Integer))
)
_CLAIM = (
    update(_Message)
    .where(_Message.id == bindparam("message_id"), _Message.status == PENDING, _DUE)
    .values(claimed_by=bindparam("holder"), claimed_until=bindparam("until"))
    .execution_options(synchronize_session=False)
)


class OutboxRepository:
    _session: Session

    def now(self) -> datetime:
        raise NotImplementedError

    def timer_now(self) -> datetime:
        raise NotImplementedError

    def add_message(self, lane: str, kind: str, payload: dict[str, Any]) -> None:
        """Record a message to send once this transaction commits."""
        now = self.timer_now()
        self._session.add(
            models.OutboxMessage(
                lane=lane,
                kind=kind,
                payload=payload,
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                last_error="",
                reference="",
                created_at=now,
            )
        )

    def lane_heads(self, limit: int = 100) -> list[OutboxRecord]:
        """The oldest pending message of each lane, where it is due and nobody is sending it."""
        rows = self._session.scalars(_LANE_HEADS, {"now": self.timer_now(), "limit": limit})
        return [_record(r) for r in rows]

    def claim_message(self, message_id: int, holder: str, lease: timedelta) -> bool:
        """Claim one message for sending: True for exactly one claimant at a time."""
        now = self.timer_now()
        values = {"message_id": message_id, "now": now, "holder": holder, "until": now + lease}
        return bool(self._session.execute(_CLAIM, values).rowcount)  # type: ignore[attr-defined]

    def _claimed(self, message_id: int, holder: str) -> models.OutboxMessage | None:
        row = self._session.get(models.OutboxMessage, message_id, with_for_update=True)
        if row is None or row.status != PENDING or row.claimed_by != holder:
            return None
        return row

    def message_sent(self, message_id: int, holder: str) -> bool:
        row = self._claimed(message_id, holder)
        if row is None:
            return False
        row.status, row.sent_at = SENT, self.timer_now()
        row.claimed_by = row.claimed_until = None
        row.attempts += 1
        _forget_file(row)
        return True

    def message_retry(self, message_id: int, holder: str, delay: timedelta, error: str) -> None:
        row = self._claimed(message_id, holder)
        if row is None:
            return
        row.attempts += 1
        row.last_error = error[:500]
        row.next_attempt_at = self.timer_now() + delay
        row.claimed_by = row.claimed_until = None

    def message_undeliverable(
        self, message_id: int, holder: str, error: str, reference: str
    ) -> OutboxRecord | None:
        row = self._claimed(message_id, holder)
        if row is None:
            return None
        row.status, row.last_error, row.reference = UNDELIVERABLE, error[:500], reference
        row.attempts += 1
        row.claimed_by = row.claimed_until = None
        _forget_file(row)
        return _record(row)

    def release_message_claims(self, holder: str, *, keep: set[int] | None = None) -> int:
        """Hand back the messages `holder` claimed but is not sending (a clean shutdown)."""
        query = update(models.OutboxMessage).where(
            models.OutboxMessage.claimed_by == holder,
            models.OutboxMessage.status == PENDING,
        )
        if keep:
            query = query.where(models.OutboxMessage.id.not_in(keep))
        result = self._session.execute(
            query.values(claimed_by=None, claimed_until=None).execution_options(
                synchronize_session=False
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def undelivered(self, *, limit: int = 5) -> list[OutboxRecord]:
        """Messages still waiting to go out, or given up on, newest first."""
        query = select(models.OutboxMessage).where(models.UNSENT)
        rows = self._session.scalars(query.order_by(models.OutboxMessage.id.desc()).limit(limit))
        return [_record(r) for r in rows]


def _record(row: models.OutboxMessage) -> OutboxRecord:
    return OutboxRecord(
        id=row.id,
        lane=row.lane,
        kind=row.kind,
        payload=dict(row.payload),
        attempts=row.attempts,
        created_at=row.created_at,
        last_error=row.last_error,
        reference=row.reference,
    )


def _forget_file(row: models.OutboxMessage) -> None:
    """A file's bytes are not kept once it is sent or given up on: an audit export is a copy
    of the trail that would outlive the trail's 24-month retention, and charts add up."""
    if {"content", "content_b64"} & row.payload.keys():
        row.payload = {k: v for k, v in row.payload.items() if k not in ("content", "content_b64")}
