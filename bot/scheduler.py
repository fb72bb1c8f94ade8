"""Each instance's local ticker. The database, not the ticker, decides who sends a post.

APScheduler 3 cannot share a job store between instances, and its default misfire grace
of one second silently drops a late run. So every instance ticks on its own, works out
from the clock which posts are due (including ones missed while it was down, within the
grace period), and claims each in the database (one row per post and due time) before
sending it. Exactly one claimant wins; a claim whose sender died unsent is taken over
when its lease runs out.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from bot.services import Services
from commands.production import announce_reaped, reap_expired_lock
from commands.scheduled import attach, compose
from release.audit import AuditAction
from release.schedule import DuePost, due_posts
from storage.retention import purge_expired_rows

log = logging.getLogger(__name__)

#: How long a claimed post may stay unsent before another instance takes it over.
CLAIM_LEASE = timedelta(minutes=2)
BOT = "release-bot"


class Ticker:
    def __init__(self, services: Services, interval_seconds: int) -> None:
        self.services = services
        self.interval = timedelta(seconds=interval_seconds)
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    def start(self) -> None:
        self._scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.interval.total_seconds(),
            next_run_time=datetime.now(UTC),  # at start-up: catch up on anything missed
            id="tick",
        )
        self._scheduler.add_job(  # job_defaults: coalesced, one at a time, never dropped late
            self.purge, "interval", hours=1, next_run_time=datetime.now(UTC), id="retention"
        )
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def tick(self) -> list[DuePost]:
        """One pass: reclaim a dead instance's deploy lock, then send what is due."""
        try:
            self._reap()
        except Exception:
            log.exception("could not check the deploy lock")
        try:  # a replay of these would be stale by now: the guard refuses it anyway
            self.services.store.forget_requests(timedelta(minutes=10))
        except Exception:
            log.exception("could not forget old request signatures")
        services = self.services
        now = services.clock.now()
        try:
            with services.store.transaction() as uow:
                freezes = uow.freezes(
                    ending_after=now - services.policy.schedule.grace - timedelta(days=8)
                )
                since = uow.first_tick()
            # Nothing is "posted late" for a time before the bot first ran here.
            due = [p for p in due_posts(services.policy.schedule, freezes, now) if p.due >= since]
        except Exception:
            log.exception("could not work out the due posts; none this tick")
            return []
        sent = []
        for post in due:
            try:
                if self._send(post, now):
                    sent.append(post)
            except Exception:
                log.exception("scheduled post %s %s not sent; it is retried", post.kind, post.key)
        return sent

    def purge(self) -> None:
        """Purge audit rows and artefacts past retention; a refusal is only logged."""
        try:
            purge_expired_rows(self.services.store)
        except Exception:
            log.exception("could not purge expired audit rows and artefacts; retried next hour")

    def _reap(self) -> None:
        ctx = self.services.context(BOT)
        with ctx.transaction() as uow:
            uow.deploy_lock(lock=True)
            reaped = reap_expired_lock(uow, ctx)
            if reaped is not None:
                announce_reaped(ctx, reaped)

    def _send(self, post: DuePost, now: datetime) -> bool:
        """Claim, compose and hand the post to the outbox in one transaction: once, exactly.

        The outbox then owns delivery (and its retries), so a slow Slack can neither
        lose the post nor let a second instance post it again.
        """
        services = self.services
        ctx = services.context(BOT)
        late = now - post.due > max(2 * self.interval, timedelta(minutes=2))
        with ctx.transaction() as uow:
            claimed = uow.claim_post(
                post.kind.value, post.key, post.due, instance=services.instance, lease=CLAIM_LEASE
            )
            if not claimed:
                return False
            ctx.conversation.announce(compose(uow, ctx, post, now, late=late))
            attach(uow, ctx, post, now)  # the weekly chart: after the post, in its transaction
            uow.mark_post_sent(
                post.kind.value, post.key, post.due, instance=services.instance, late=late
            )
            uow.audit(
                BOT,
                AuditAction.SCHEDULED_POST_SENT,
                None,
                kind=post.kind.value,
                key=post.key,
                due=post.due.isoformat(),
                late=late,
                instance=services.instance,
            )
        return True
