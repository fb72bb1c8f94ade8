"""Runs release jobs step by step on any instance, renewing their claims while they run."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from bot.pump import Claimed, Pump
from commands.context import Context
from commands.deploy import why
from commands.jobs import WAITING_SINCE, Procedure, Step
from integrations.ports import IntegrationError, TransientError, Waiting
from release.audit import AuditAction
from storage.jobs import CANCELLED, FAILED, PENDING, JobRecord, lock_holder
from storage.unit_of_work import Conflict, Store, UnitOfWork

log = logging.getLogger(__name__)

#: How long a job stays claimed without a heartbeat before another instance takes it over.
CLAIM_LEASE = timedelta(seconds=30)
MAX_BACKOFF = 120.0
BOT = "release-bot"


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
        self.first_backoff = 1.0  # seconds before the first retry of a step; then doubling
        self._running: set[int] = set()  # only these claims are renewed
        self._running_lock = threading.Lock()
        self._beat_stop = threading.Event()  # outlives `stopping`: claims live until handed back
        self._beat = threading.Thread(target=self._heartbeat, name="jobs-heartbeat", daemon=True)
        store.after_jobs(self.wake)

    def start(self) -> None:
        super().start()
        self._beat.start()

    def claim(self, busy: set[str], room: int) -> Claimed:
        claimed: Claimed = []
        with self._store.reading() as uow:  # each claim checks again that it is due
            due = [i for i in uow.due_jobs() if lock_holder(i) not in busy]
        for job_id in due[:room]:
            with self._store.transaction() as uow:
                job = uow.claim_job(job_id, self._instance, self._lease)
            if job is not None:
                claimed.append((job.holder, lambda job=job: self._run_claimed(job)))  # type: ignore[misc]
        return claimed

    def due(self) -> bool:
        with self._store.reading() as uow:
            return bool(uow.due_jobs(limit=1))

    def hand_back(self) -> None:
        """Release the claims of jobs waiting here; a step still running keeps its claim.

        That claim lapses after the lease (the heartbeat has stopped), so no other instance
        runs the same step while this one may still be in it.
        """
        self._beat_stop.set()
        if self._beat.is_alive():  # never started when start-up stopped before serving
            self._beat.join(5)
        with self._running_lock:
            running = set(self._running)
        with self._store.transaction() as uow:
            handed = uow.release_job_claims(self._instance, keep=running)
        if handed:
            log.info("handed %s unfinished job(s) back for another instance to resume", handed)

    def _heartbeat(self) -> None:
        """Keep the claims of the jobs running here, and the deploy lock they hold, alive.

        Only jobs a thread is running now are renewed: a job whose run ended without
        recording an outcome (an error) lets its claim lapse, so any instance retries it.
        """
        while not self._beat_stop.wait(self._lease.total_seconds() / 3):
            with self._running_lock:
                running = set(self._running)
            if not running:
                continue
            try:
                with self._store.transaction() as uow:
                    uow.deploy_lock(lock=True)  # lock order everywhere: the lock row first
                    for job_id in uow.renew_jobs(self._instance, self._lease, running):
                        uow.renew_deploy_lock(lock_holder(job_id), self._deploy_lease)
            except Exception as error:
                log.warning("could not renew job claims (%s)", type(error).__name__)

    def _run_claimed(self, job: JobRecord) -> None:
        with self._running_lock:
            self._running.add(job.id)
        try:
            self.run(job)
        finally:
            with self._running_lock:
                self._running.discard(job.id)

    # -- one job ---------------------------------------------------------------------------------

    def _begin(self, uow: UnitOfWork, procedure: Procedure) -> None:
        if procedure.holds_deploy_lock:
            uow.deploy_lock(lock=True)  # lock order everywhere: the lock row, then the rest

    def run(self, job: JobRecord) -> None:
        """Run `job` from its current step until it ends, waits for a retry, or we stop."""
        procedure = self._procedures[job.kind]
        while True:
            step = procedure.steps[job.step]
            ctx = self._context(job.actor)
            try:
                result = step.act(ctx, job)
            except Waiting as waiting:
                self._wait(procedure, step, ctx, job, waiting)
                return
            except (TransientError, SQLAlchemyError) as error:
                after = error.retry_after if isinstance(error, TransientError) else None
                self._retry(procedure, ctx, job, _what(error), after)
                return
            except IntegrationError as error:
                self._fail(procedure, ctx, job, str(error), definite=True)
                return
            except Exception as error:
                self._fail(procedure, ctx, job, why(error), definite=False)
                return
            try:
                with ctx.transaction() as uow:
                    self._begin(uow, procedure)
                    owned = uow.owned_job(job.id, self._instance)
                    if owned is None:
                        current = uow.job(job.id)
                        if current is not None and current.status == CANCELLED and step.orphaned:
                            step.orphaned(uow, ctx, job, result)
                        log.warning("job %s was taken from this instance at %s", job.id, job.step)
                        return
                    data = {**owned.data, **result}
                    data.pop(WAITING_SINCE, None)
                    job = replace(owned, data=data)
                    following = step.record(uow, ctx, job, result)
                    uow.job_step_done(job.id, following, job.data, lease=self._lease)
            except (SQLAlchemyError, Conflict) as error:
                # Not recorded, so not done: the step runs again (it is idempotent).
                self._retry(procedure, ctx, job, _what(error), None)
                return
            except Exception as error:  # a bug in recording: counted, then failed, never looped
                self._retry(procedure, ctx, job, why(error), None)
                return
            if following is None:
                return
            job = replace(job, step=following, attempts=0)
            if self.stopping:  # a safe point: the next step is resumed by whoever is left
                return

    def _retry(
        self, procedure: Procedure, ctx: Context, job: JobRecord, what: str, after: float | None
    ) -> None:
        if job.attempts + 1 >= procedure.max_attempts:
            self._fail(
                procedure,
                ctx,
                job,
                f"{what} (gave up after {job.attempts + 1} attempts)",
                definite=False,
            )
            return
        backoff = min(MAX_BACKOFF, self.first_backoff * 2.0**job.attempts)
        backoff *= random.uniform(0.8, 1.2)  # noqa: S311
        delay = max(after or 0.0, backoff)
        log.warning("job %s step %s: %s; retrying in %.1fs", job.id, job.step, what, delay)
        try:
            with ctx.transaction() as uow:
                self._begin(uow, procedure)
                if uow.owned_job(job.id, self._instance) is not None:
                    uow.job_retry(job.id, timedelta(seconds=delay), what)
                    _audit_step(uow, AuditAction.STEP_RETRIED, job, what)
        except Exception as error:  # the database again: the claim lapses, and it is retried
            log.warning("job %s: could not record a retry (%s)", job.id, type(error).__name__)

    def _wait(
        self, procedure: Procedure, step: Step, ctx: Context, job: JobRecord, waiting: Waiting
    ) -> None:
        """Look again later, from any instance; give up once the step has waited too long."""
        now = ctx.clock.now()
        since_text = job.data.get(WAITING_SINCE)
        since = datetime.fromisoformat(since_text) if since_text else now
        if now - since > step.wait_limit:
            minutes = round(step.wait_limit.total_seconds() / 60)
            self._fail(
                procedure, ctx, job, f"{waiting} (gave up after {minutes} min)", definite=False
            )
            return
        delay = max(1.0, waiting.retry_after or 10.0)
        log.info("job %s step %s: %s; looking again in %.0fs", job.id, job.step, waiting, delay)
        try:
            with ctx.transaction() as uow:
                self._begin(uow, procedure)
                if uow.owned_job(job.id, self._instance) is not None:
                    uow.job_wait(
                        job.id,
                        timedelta(seconds=delay),
                        str(waiting),
                        **{WAITING_SINCE: since.isoformat()},
                    )
        except Exception as error:  # the database again: the claim lapses, and it is retried
            log.warning("job %s: could not record a wait (%s)", job.id, type(error).__name__)

    def _fail(
        self, procedure: Procedure, ctx: Context, job: JobRecord, what: str, *, definite: bool
    ) -> None:
        """A step failed for good: the procedure leaves a truthful state; the job ends."""
        try:
            with ctx.transaction() as uow:
                self._begin(uow, procedure)
                owned = uow.owned_job(job.id, self._instance)
                if owned is None:
                    return
                _audit_step(uow, AuditAction.STEP_FAILED, job, what)
                following = procedure.failed(uow, ctx, owned, what, definite)
                ended = uow.job(job.id)
                if ended is None or ended.status != PENDING:  # (it may have finished it)
                    return
                if following is not None:
                    uow.continue_job(job.id, following, **{f"{job.step}_error": what})
                else:
                    uow.end_job(job.id, FAILED, what)
        except Exception as error:
            log.warning("job %s: could not record its failure (%s)", job.id, type(error).__name__)
            self._end_without_procedure(job, what)

    def _end_without_procedure(self, job: JobRecord, what: str) -> None:
        """The procedure's own failure handling failed: end the job so it is not re-run."""
        try:
            with self._store.transaction() as uow:
                if uow.owned_job(job.id, self._instance) is not None:
                    uow.end_job(job.id, FAILED, what)
        except Exception as error:
            log.warning("job %s: could not end it (%s)", job.id, type(error).__name__)


def _audit_step(uow: UnitOfWork, action: AuditAction, job: JobRecord, what: str) -> None:
    uow.audit(BOT, action, job.release_id, job=job.kind, step=job.step, error=what[:200])


def _what(error: Exception) -> str:
    if isinstance(error, SQLAlchemyError):
        cause = getattr(error, "orig", None) or error
        return f"the database was unavailable ({type(cause).__name__})"
    if isinstance(error, Conflict):
        return "a conflicting change at the same moment"
    return str(error)
