"""Slow release procedures as durable steps: each step's result is recorded when it is done.

A procedure is a named sequence of steps. `act` does the outside work (GitHub, Vercel,
the smoke tests) with no transaction open and must be safe to repeat; `record` runs in
the transaction that marks the step done, moves the release and says what happened. Any
instance runs a pending job from its current step, so a crash repeats at most the step
that was under way, and that step is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from commands.context import Context
from release.records import ReleaseRecord
from storage.jobs import JobRecord
from storage.unit_of_work import UnitOfWork

Result = dict[str, Any]


@dataclass(frozen=True)
class Step:
    act: Callable[[Context, JobRecord], Result]
    #: In the step's transaction: the next step's name, or None when the job is over.
    record: Callable[[UnitOfWork, Context, JobRecord, Result], str | None]
    #: The job was cancelled (a forced unlock) while `act` ran: keep the facts it returned.
    orphaned: Callable[[UnitOfWork, Context, JobRecord, Result], None] | None = None
    #: How long `act` may keep answering `Waiting` (a build, a workflow run, a promotion)
    #: before the step counts as failed.
    wait_limit: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class Procedure:
    kind: str
    first: str
    steps: dict[str, Step]
    #: A step failed for good: leave a truthful state and say what to do (in the transaction).
    #: The flag says whether the outside system refused (True) or we gave up not knowing.
    #: It returns the step to go on with, when the job need not end (e.g. after the release,
    #: a change log that could not be written does not stop the e-mail).
    failed: Callable[[UnitOfWork, Context, JobRecord, str, bool], str | None]
    #: Transient failures of one step before it counts as failed.
    max_attempts: int = 8
    #: Its steps need the production deploy lock: the runner takes that row first.
    holds_deploy_lock: bool = False


def release_of(uow: UnitOfWork, job: JobRecord, *, lock: bool = True) -> ReleaseRecord:
    """The release a job works on (locked, unless only read before a step's outside call)."""
    assert job.release_id is not None  # (a release's procedure)
    release = uow.release_by_id(job.release_id, lock=lock)
    assert release is not None  # releases are never deleted
    return release


#: Where a job keeps when its current step began to wait (cleared when the step is done).
WAITING_SINCE = "waiting_since"


def begin(
    uow: UnitOfWork, procedure: Procedure, release_id: int | None, actor: str, **data: Any
) -> int:
    """Record a new job in the caller's transaction; it starts once that commits."""
    return uow.add_job(procedure.kind, release_id, actor=actor, step=procedure.first, data=data).id
