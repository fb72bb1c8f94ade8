"""Runs release jobs step by step on any instance, renewing their claims while they run."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from bot.pump import Claimed, Pump
from commands.context import Context
from commands.deploy import why
from commands.jobs import Procedure
from integrations.ports import IntegrationError, TransientError
from release.audit import AuditAction
from storage.jobs import CANCELLED, JobRecord
from storage.unit_of_work import Store

log = logging.getLogger(__name__)

#: How long a job stays claimed without a heartbeat before another instance takes it over.
CLAIM_LEASE = timedelta(seconds=30)
MAX_BACKOFF = 120.0


class JobRunner(Pump):
    def __init__(
        self,
        store: Store,
        procedures: dict[str, Procedure],
        context: Callable[[str], Context],
        instance: str,
        *,
        deploy_lease: timedelta,
        lease: timedelta = CLAIM_LEASE,
        threads: int = 4,
        poll_seconds: float = 1.0,
    ) -> None:
        super().__init__("jobs", threads=threads, poll_seconds=poll_seconds)
        self._store = store
        self._procedures = procedures
        self._context = context
        self._instance = instance
        self._deploy_lease = deploy_lease
        self._lease = lease
        self._beat = threading.Thread(target=self._heartbeat, name="jobs-heartbeat", daemon=True)
        store.after_commit(self.wake)

    def start(self) -> None:
        super().start()
        self._beat.start()

    def claim(self, busy: set[str], room: int) -> Claimed:
        claimed: Claimed = []
        with self._store.transaction() as uow:
            due = [i for i in uow.due_jobs() if f"job:{i}" not in busy]
        for job_id in due[:room]:
            with self._store.transaction() as uow:
                job = uow.claim_job(job_id, self._instance, self._lease)
            if job is not None:
                claimed.append((job.holder, lambda job=job: self.run(job)))  # type: ignore[misc]
        return claimed

    def hand_back(self) -> None:
        with self._store.transaction() as uow:
            handed = uow.release_job_claims(self._instance)
        if handed:
            log.info("handed %s unfinished job(s) back for another instance to resume", handed)

    def _heartbeat(self) -> None:
        """Keep this instance's claims, and the deploy lock its promotions hold, alive."""
        while not self.stopping:
            self._stopping.wait(self._lease.total_seconds() / 3)
            try:
                with self._store.transaction() as uow:
                    for job_id in uow.renew_jobs(self._instance, self._lease):
                        uow.renew_deploy_lock(f"job:{job_id}", self._deploy_lease)
            except Exception as error:
                log.warning("could not renew job claims (%s)", type(error).__name__)

    # -- one job ---------------------------------------------------------------------------------

    def run(self, job: JobRecord) -> None:
        """Run `job` from its current step until it ends, waits for a retry, or we stop."""
        procedure = self._procedures[job.kind]
        while True:
            step = procedure.steps[job.step]
            ctx = self._context(job.actor)
            try:
                result = step.act(ctx, job)
            except TransientError as error:
                self._retry(procedure, ctx, job, str(error), error.retry_after)
                return
            except IntegrationError as error:
                self._fail(procedure, ctx, job, str(error))
                return
            except Exception as error:
                self._fail(procedure, ctx, job, why(error))
                return
            with ctx.transaction() as uow:
                owned = uow.owned_job(job.id, self._instance)
                if owned is None:
                    current = uow.job(job.id)
                    if current is not None and current.status == CANCELLED and step.orphaned:
                        step.orphaned(uow, ctx, job, result)
                    log.warning("job %s was taken from this instance during %s", job.id, job.step)
                    return
                job = replace(owned, data={**owned.data, **result})
                following = step.record(uow, ctx, job, result)
                uow.job_step_done(job.id, following, job.data)
            if following is None:
                return
            job = replace(job, step=following)
            if self.stopping:  # a safe point: the next step is resumed by whoever is left
                return

    def _retry(
        self, procedure: Procedure, ctx: Context, job: JobRecord, what: str, after: float | None
    ) -> None:
        if job.attempts + 1 >= procedure.max_attempts:
            self._fail(procedure, ctx, job, f"{what} (gave up after {job.attempts + 1} attempts)")
            return
        delay = max(after or 0.0, min(MAX_BACKOFF, 2.0**job.attempts) * random.uniform(0.8, 1.2))  # noqa: S311
        log.warning("job %s step %s: %s; retrying in %.1fs", job.id, job.step, what, delay)
        with ctx.transaction() as uow:
            if uow.owned_job(job.id, self._instance) is not None:
                uow.job_retry(job.id, timedelta(seconds=delay), what)
                uow.audit(
                    "release-bot",
                    AuditAction.STEP_RETRIED,
                    job.release_id,
                    job=job.kind,
                    step=job.step,
                    error=what[:200],
                )

    def _fail(self, procedure: Procedure, ctx: Context, job: JobRecord, what: str) -> None:
        with ctx.transaction() as uow:
            owned = uow.owned_job(job.id, self._instance)
            if owned is None:
                return
            uow.audit(
                "release-bot",
                AuditAction.STEP_FAILED,
                job.release_id,
                job=job.kind,
                step=job.step,
                error=what[:200],
            )
            procedure.failed(uow, ctx, owned, what)
            uow.end_job(job.id, "failed", what)
