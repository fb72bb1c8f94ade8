"""Repository methods for durable release jobs and the deployments they leave behind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from release.production import ProductionDeploy
from storage import models

PENDING, DONE, FAILED, CANCELLED = "pending", "done", "failed", "cancelled"


def lock_holder(job_id: int) -> str:
    """How the production deploy lock names the job that holds it."""
    return f"job:{job_id}"


def holding_job(holder: str) -> int | None:
    """The job a deploy lock's holder names, or None for any other holder."""
    prefix, _, number = holder.partition(":")
    return int(number) if prefix == "job" and number.isascii() and number.isdigit() else None


@dataclass(frozen=True)
class JobRecord:
    id: int
    kind: str
    release_id: int | None  # None: a job about no release (a feature flag)
    actor: str
    step: str
    status: str
    data: dict[str, Any]
    attempts: int
    last_error: str
    created_at: datetime
    claimed_by: str | None = None

    @property
    def holder(self) -> str:
        return lock_holder(self.id)


@dataclass(frozen=True)
class DeploymentRecord:
    id: int
    release_id: int
    environment: str
    deployment_id: str | None
    url: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    replaced: str | None
    job_id: int | None = None  # the promotion (or rollback) that made it
    kind: str = "promotion"  # promotion | rollback


class JobRepository:
    _session: Session

    def now(self) -> datetime:
        raise NotImplementedError

    def timer_now(self) -> datetime:
        raise NotImplementedError

    # -- jobs ---------------------------------------------------------------------

    def add_job(
        self, kind: str, release_id: int | None, *, actor: str, step: str, data: dict[str, Any]
    ) -> JobRecord:
        now = self.timer_now()
        row = models.Job(
            kind=kind,
            release_id=release_id,
            actor=actor,
            step=step,
            status=PENDING,
            data=data,
            attempts=0,
            next_attempt_at=now,
            last_error="",
            created_at=now,
            updated_at=now,
        )
        self._session.add(row)
        self._session.flush()
        return _job(row)

    def job(self, job_id: int) -> JobRecord | None:
        row = self._session.get(models.Job, job_id)
        return _job(row) if row is not None else None

    def jobs_of(self, release_id: int) -> list[JobRecord]:
        rows = self._session.scalars(
            select(models.Job).where(models.Job.release_id == release_id).order_by(models.Job.id)
        )
        return [_job(r) for r in rows]

    def due_jobs(self, limit: int = 20) -> list[int]:
        now = self.timer_now()
        return list(
            self._session.scalars(
                select(models.Job.id)
                .where(models.Job.status == PENDING, models.Job.next_attempt_at <= now)
                .where((models.Job.claimed_until.is_(None)) | (models.Job.claimed_until <= now))
                .order_by(models.Job.id)
                .limit(limit)
            )
        )

    def claim_job(self, job_id: int, holder: str, lease: timedelta) -> JobRecord | None:
        """Claim a due job for `holder`: exactly one claimant wins."""
        now = self.timer_now()
        result = self._session.execute(
            update(models.Job)
            .where(
                models.Job.id == job_id,
                models.Job.status == PENDING,
                models.Job.next_attempt_at <= now,
                (models.Job.claimed_until.is_(None)) | (models.Job.claimed_until <= now),
            )
            .values(claimed_by=holder, claimed_until=now + lease)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            return None
        return self.job(job_id)

    def merge_job_data(self, job_id: int, **data: Any) -> None:
        row = self._session.get_one(models.Job, job_id)
        row.data = {**row.data, **data}

    def owned_job(self, job_id: int, holder: str) -> JobRecord | None:
        """The job, locked, if `holder` still has it; None if it was taken or ended."""
        row = self._session.get(models.Job, job_id, with_for_update=True)
        if row is None or row.status != PENDING or row.claimed_by != holder:
            return None
        return _job(row)

    def renew_jobs(self, holder: str, lease: timedelta, job_ids: set[int]) -> list[int]:
        """Extend `holder`'s claims on `job_ids` (the jobs it is running); the ids still held."""
        rows = self._session.scalars(
            select(models.Job)
            .where(
                models.Job.claimed_by == holder,
                models.Job.status == PENDING,
                models.Job.id.in_(job_ids),
            )
            .order_by(models.Job.id)
            .with_for_update()
        ).all()
        for row in rows:
            row.claimed_until = self.timer_now() + lease
        return [r.id for r in rows]

    def job_step_done(
        self, job_id: int, next_step: str | None, data: dict[str, Any], *, lease: timedelta
    ) -> None:
        """Record a completed step: the next one to run (claim renewed), or the job done."""
        row = self._session.get_one(models.Job, job_id)
        row.claimed_until = self.timer_now() + lease
        row.data = data
        row.attempts = 0
        row.last_error = ""
        row.updated_at = self.timer_now()
        if next_step is not None:
            row.step = next_step
        elif row.status == PENDING:  # (a step may have ended the job itself)
            row.status, row.finished_at = DONE, self.timer_now()
            row.claimed_by = row.claimed_until = None

    def job_retry(self, job_id: int, delay: timedelta, error: str) -> int:
        """Put the job back for any instance to retry after `delay`; its attempt count."""
        row = self._session.get_one(models.Job, job_id)
        row.attempts += 1
        row.last_error = error[:500]
        row.next_attempt_at = self.timer_now() + delay
        row.updated_at = self.timer_now()
        row.claimed_by = row.claimed_until = None
        return row.attempts

    def job_wait(self, job_id: int, delay: timedelta, what: str, **data: Any) -> None:
        """The outside system is still at work: look again after `delay`, from any instance.

        Not a failed attempt, so the attempt count stays; `data` keeps when the wait began.
        """
        row = self._session.get_one(models.Job, job_id)
        row.data = {**row.data, **data}
        row.last_error = what[:500]
        row.next_attempt_at = self.timer_now() + delay
        row.updated_at = self.timer_now()
        row.claimed_by = row.claimed_until = None

    def continue_job(self, job_id: int, step: str, **data: Any) -> None:
        """Go on with `step` after a step failed for good, for any instance to run now."""
        row = self._session.get_one(models.Job, job_id)
        row.step, row.attempts = step, 0
        row.data = {k: v for k, v in {**row.data, **data}.items() if k != "waiting_since"}
        row.next_attempt_at = row.updated_at = self.timer_now()
        row.claimed_by = row.claimed_until = None

    def end_job(self, job_id: int, status: str, error: str = "") -> None:
        row = self._session.get_one(models.Job, job_id)
        row.status, row.last_error = status, error[:500]
        row.finished_at = row.updated_at = self.timer_now()
        row.claimed_by = row.claimed_until = None

    def release_job_claims(self, holder: str, *, keep: set[int] | None = None) -> int:
        """Hand back the jobs `holder` claimed (but `keep`), so another instance resumes them."""
        rows = self._session.scalars(
            select(models.Job)
            .where(models.Job.claimed_by == holder, models.Job.status == PENDING)
            .order_by(models.Job.id)  # the heartbeat locks in this order too
            .with_for_update()
        ).all()
        handed = [r for r in rows if r.id not in (keep or set())]
        for row in handed:
            row.claimed_by = row.claimed_until = None
        return len(handed)

    # -- deployments ------------------------------------------------------------------

    def start_deployment(
        self, release_id: int, environment: str, *, replaced: str | None, job_id: int | None
    ) -> int:
        row = models.Deployment(
            release_id=release_id,
            environment=environment,
            url="",
            started_at=self.now(),
            outcome=ProductionDeploy.PENDING.value,
            replaced=replaced,
            job_id=job_id,
        )
        self._session.add(row)
        self._session.flush()
        return row.id

    def finish_deployment(
        self,
        row_id: int,
        outcome: ProductionDeploy,
        *,
        deployment_id: str | None = None,
        url: str = "",
        replaced: str | None = None,
    ) -> None:
        row = self._session.get_one(models.Deployment, row_id)
        row.outcome, row.finished_at = outcome.value, self.now()
        if replaced is not None:  # what the deployer said production served before
            row.replaced = replaced
        if deployment_id is not None:
            row.deployment_id, row.url = deployment_id, url

    def deployments(self, environment: str) -> list[DeploymentRecord]:
        query = select(models.Deployment).where(models.Deployment.environment == environment)
        return [_deployment(r) for r in self._session.scalars(query.order_by(models.Deployment.id))]


def _job(row: models.Job) -> JobRecord:
    return JobRecord(
        id=row.id,
        kind=row.kind,
        release_id=row.release_id,
        actor=row.actor,
        step=row.step,
        status=row.status,
        data=dict(row.data),
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        claimed_by=row.claimed_by,
    )


def _deployment(row: models.Deployment) -> DeploymentRecord:
    return DeploymentRecord(
        id=row.id,
        release_id=row.release_id,
        environment=row.environment,
        deployment_id=row.deployment_id,
        url=row.url,
        started_at=row.started_at,
        finished_at=row.finished_at,
        outcome=row.outcome,
        replaced=row.replaced,
        job_id=row.job_id,
        kind=row.kind,
    )
