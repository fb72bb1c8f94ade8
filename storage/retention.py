"""Purging audit rows and artefacts past the policy's 24 months, in bounded batches.

Two clocks decide, and both must agree before a row goes:

- The bot chooses what to purge by its own (injectable) clock: rows whose `at` (audit) or
  `recorded_at` (artefacts) is before `release.retention.retention_cutoff(uow.now())`.
  The DELETE names only those rows.
- The database guards by its clock: migration 0010's triggers refuse the DELETE of any row
  younger than 24 months by the database's `now`, whoever asks, the bot included.

When the clocks disagree (the bot's clock runs ahead, so it picks a row the database
still counts as young) the database refuses the whole statement: that batch is rolled
back, nothing of it is deleted or audited, the refusal is logged at WARNING (one line, no
traceback) and the purge is tried again at the next hourly run. It never raises into the
ticker.

Each transaction deletes at most `batch` rows (artefacts first, then audit rows), so a
large backlog never holds a long lock, and a transaction that deleted anything audits
that in itself (`retention.purged`: one audit row per batch). A run starts no new batch
after `seconds` (so it never holds up a shutdown for long); the rest waits for the next.
Releases are never purged; artefacts and audit rows only reference them, so the order
between the two tables does not matter. Two instances may purge at once: on PostgreSQL
each batch's rows are picked `FOR UPDATE SKIP LOCKED`, so the second takes other rows (or
none) instead of waiting; SQLite serialises writers anyway.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import InstrumentedAttribute, Session

from release.audit import AuditAction
from release.retention import retention_cutoff
from storage import models

if TYPE_CHECKING:
    from storage.unit_of_work import Store

log = logging.getLogger(__name__)

#: Rows deleted per transaction, at most.
BATCH = 5_000
#: Rows are purged this long after they pass 24 months (clock skew between bot and database).
SKEW_MARGIN = timedelta(days=1)
#: A run starts no new batch after this many seconds: the rest waits for the next run.
RUN_SECONDS = 5.0
BOT = "release-bot"


class RetentionRepository:
    _session: Session

    def purge_expired(self, before: datetime, batch: int) -> tuple[int, int]:
        """Delete up to `batch` rows recorded before `before`: (audit rows, artefacts).

        Artefacts go first, then audit rows up to what is left of `batch`.
        """
        artefacts = self._purge(models.Artefact, models.Artefact.recorded_at, before, batch)
        audit_rows = self._purge(models.AuditEvent, models.AuditEvent.at, before, batch - artefacts)
        return audit_rows, artefacts

    def _purge(
        self,
        model: type[models.Artefact] | type[models.AuditEvent],
        recorded: InstrumentedAttribute[datetime],
        before: datetime,
        limit: int,
    ) -> int:
        if limit <= 0:
            return 0
        expired = (
            select(model.id)
            .where(recorded < before)
            .order_by(recorded, model.id)  # oldest first, by the index on `recorded`
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite compiles it away
        )
        result = self._session.execute(
            delete(model).where(model.id.in_(expired)),
            execution_options={"synchronize_session": False},
        )
        return int(cast(CursorResult[Any], result).rowcount)


@dataclass(frozen=True)
class PurgeReport:
    """What one purge run did. `refused` says why a batch was rolled back ("" if none)."""

    before: datetime | None
    audit_rows: int = 0
    artefacts: int = 0
    batches: int = 0  # transactions that deleted something (each audited)
    refused: str = ""
    more: bool = False  # stopped at the run's time limit with rows possibly left


def purge_expired_rows(
    store: Store, *, batch: int = BATCH, seconds: float = RUN_SECONDS
) -> PurgeReport:
    """Purge what is past retention by the bot's clock, batch by batch, for up to about
    `seconds`; a refusal by the database is reported, not raised (see the module)."""
    from storage.unit_of_work import Conflict  # (that module imports this one)

    deadline = time.monotonic() + seconds
    before: datetime | None = None
    audit_rows = artefacts = batches = 0
    more = False
    while True:
        try:
            with store.transaction() as uow:
                if before is None:
                    # A day's margin: a bot clock a little ahead of the database's never
                    # gets a whole batch refused for the rows in between.
                    before = retention_cutoff(uow.now()) - SKEW_MARGIN
                audits, arts = uow.purge_expired(before, batch)
                if audits or arts:
                    uow.audit(
                        BOT,
                        AuditAction.RETENTION_PURGED,
                        None,
                        audit_rows=audits,
                        artefacts=arts,
                        before=before.isoformat(),
                    )
        except (Conflict, DBAPIError) as error:
            reason = _reason(error)
            log.warning(
                "retention purge of rows recorded before %s refused and rolled back "
                "(retried at the next run): %s",
                before.isoformat() if before else "?",
                reason,
            )
            return PurgeReport(before, audit_rows, artefacts, batches, refused=reason)
        if audits or arts:
            batches += 1
            audit_rows += audits
            artefacts += arts
        if audits + arts < batch:
            break
        if time.monotonic() >= deadline:
            more = True
            break
    if batches:
        log.info(
            "retention: purged %d audit rows and %d artefacts recorded before %s%s",
            audit_rows,
            artefacts,
            before.isoformat() if before else "?",
            "; more at the next run" if more else "",
        )
    return PurgeReport(before, audit_rows, artefacts, batches, more=more)


def _reason(error: Exception) -> str:
    """The database's own message, on one line."""
    cause: BaseException = error
    while not isinstance(cause, DBAPIError) and cause.__cause__ is not None:
        cause = cause.__cause__
    original = cause.orig if isinstance(cause, DBAPIError) else cause
    text = str(original).strip().splitlines()
    return text[0] if text else type(original).__name__
