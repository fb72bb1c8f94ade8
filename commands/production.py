"""promote, check and unlock: the gates to production and the one-deploy-at-a-time lock."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from commands.context import Context
from commands.deploy import BOT, PROMOTE
from commands.jobs import begin
from commands.live import fail_in_flight, in_production
from commands.parser import Check, Promote, Unlock
from commands.sign_off import signers
from commands.text import escape
from commands.timefmt import in_zone
from commands.transitions import advance
from release.audit import AuditAction
from release.freezes import freeze_at
from release.gates import Gate, PromotionFacts, bypassed, failing, promotion_gates
from release.lifecycle import Event, State
from release.permissions import Action
from release.production import ProductionDeploy
from release.records import DeployLockRecord, ReleaseRecord
from release.review_status import ReviewStatus
from release.windows import next_window, window_at
from storage.jobs import CANCELLED, PENDING, JobRecord, holding_job, lock_holder
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def _facts(uow: UnitOfWork, ctx: Context, release: ReleaseRecord, *, lock: bool) -> PromotionFacts:
    now = ctx.clock.now()
    windows = ctx.policy.schedule.windows
    held = uow.deploy_lock(lock=lock)
    # A held lock is a deploy in flight, lease lapsed or not: its job resumes on any instance.
    in_flight = _describe_lock(ctx, held) if held is not None else None
    return PromotionFacts(
        version=release.version,
        state=release.state,
        regression_passed=release.regression_passed,
        hotfix=release.kind == "hotfix",
        window=window_at(windows, now),
        next_window=next_window(windows, now),
        freeze=freeze_at(uow.freezes(ending_after=now), now),
        deploy_in_flight=in_flight,
        in_production=in_production(uow),
    )


def _describe_lock(ctx: Context, held: DeployLockRecord) -> str:
    return f"{held.version}, promoted by <@{held.actor}> at {in_zone(held.acquired_at, ctx.zone)}"


@dataclass(frozen=True)
class Reaped:
    """A deploy lock whose deploy had ended or vanished, cleared, and the release it left."""

    lock: DeployLockRecord
    release_state: State | None


def _lock_job(uow: UnitOfWork, held: DeployLockRecord) -> JobRecord | None:
    job_id = holding_job(held.holder)
    return uow.job(job_id) if job_id is not None else None


def reap_expired_lock(uow: UnitOfWork, ctx: Context) -> Reaped | None:
    """Clear a deploy lock that no deploy will ever finish; fail the release it left.

    A lock held by a pending promotion job is never reaped, however long its lease has
    lapsed: that job resumes on any instance, from its last completed step. Callers hold
    the lock row first (uow.deploy_lock(lock=True)), then release rows.
    """
    held = uow.deploy_lock(lock=True)
    if held is None:
        return None
    job = _lock_job(uow, held)
    if job is not None and job.status == PENDING:
        return None
    if job is None and held.is_live(ctx.clock.now()):
        return None
    uow.release_deploy_lock(held.holder)
    was = fail_in_flight(uow, held.version, BOT) if held.version else None
    release = uow.release(held.version) if held.version else None
    uow.audit(
        BOT,
        AuditAction.DEPLOY_LOCK_RECLAIMED,
        release.id if release else None,
        holder=held.holder,
        version=held.version,
        expired_at=held.expires_at.isoformat(),
    )
    return Reaped(held, was)


def announce_reaped(ctx: Context, reaped: Reaped) -> None:
    """Say so in the channel (inside the transaction that reaped it)."""
    lock = reaped.lock
    left = ""
    if reaped.release_state in (State.DEPLOYING, State.VERIFYING):
        left = (
            f" {lock.version} was `{reaped.release_state}` with no deploy left to finish it; it "
            "is now `failed`. Check production before promoting anything else."
        )
    ctx.conversation.announce(
        f":unlock: The production deploy lock for {lock.version} (promoted by <@{lock.actor}>) "
        f"was held by a deploy that is no longer running, so it was cleared.{left}"
    )


def _gate_line(gate: Gate) -> str:
    mark = ":white_check_mark:" if gate.passed else ":x:"
    if gate.bypassed:
        mark = ":warning:"
    return f"{mark} {gate.detail}"


def check(ctx: Context, command: Check) -> None:
    version = str(command.version)
    with ctx.transaction() as uow:
        release = uow.release(version)
        if release is None:
            ctx.conversation.reply(f"There is no release {version}.")
            return
        gates = promotion_gates(_facts(uow, ctx, release, lock=False), ctx.when)
    blocked = failing(gates)
    verdict = (
        f"*{version} may be promoted now* with `/release promote {version}`."
        if not blocked
        else f"*{version} may not be promoted now*: {len(blocked)} gate(s) fail."
    )
    ctx.conversation.reply(
        f"*Promotion gates for {version}* (checked {in_zone(ctx.clock.now(), ctx.zone)}; "
        "nothing was changed)\n" + "\n".join(_gate_line(g) for g in gates) + f"\n{verdict}"
    )


def promote(ctx: Context, command: Promote) -> None:
    """Policy step 6, gated; the deploy, smoke tests and change log run as a durable job.

    The gates, taking the lock and the move to `deploying` are one transaction, with the
    lock row taken first, so two instances promoting at once cannot both pass the "no
    deploy in flight" gate. The same transaction records the job and its announcements.
    """
    version = str(command.version)
    with ctx.transaction() as uow:
        if ctx.refused(uow, Action.PROMOTE):
            return
        uow.deploy_lock(lock=True)  # lock order everywhere: the lock row, then release rows
        reaped = reap_expired_lock(uow, ctx)
        if reaped is not None:
            announce_reaped(ctx, reaped)
        release = uow.release(version, lock=True)
        if release is None:
            ctx.conversation.reply(f"There is no release {version}.")
            return
        if release.state is State.RELEASED:
            ctx.conversation.reply(
                f"{version} is already released: it reached production and passed its smoke "
                f"tests. Nothing was changed. See `/release status {version}`."
            )
            return
        gates = promotion_gates(_facts(uow, ctx, release, lock=True), ctx.when)
        blocked = failing(gates)
        if blocked:
            ctx.conversation.reply(
                f"{version} cannot be promoted now. Failing gates:\n"
                + "\n".join(f"• {g.detail}" for g in blocked)
                + f"\n`/release check {version}` shows every gate."
            )
            return
        _start_deploy(uow, ctx, release, gates)


def _start_deploy(uow: UnitOfWork, ctx: Context, release: ReleaseRecord, gates: list[Gate]) -> None:
    version = release.version
    staging = release.staging_deployment_id or ""
    job_id = begin(
        uow, PROMOTE, release.id, ctx.actor, staging_id=staging, staging_sha=release.staging_sha
    )
    holder = lock_holder(job_id)
    taken = uow.acquire_deploy_lock(holder, version, ctx.actor, ctx.policy.deploy_lock_lease)
    # The gate passed with the lock row held, and an ended holder was reaped.
    assert taken.acquired and taken.reclaimed_from is None
    live = in_production(uow)
    replaced = uow.release(live) if live else None
    row = uow.start_deployment(
        release.id,
        "production",
        replaced=replaced.production_deployment_id if replaced else None,
        job_id=job_id,
    )
    uow.merge_job_data(job_id, deployment_row=row)
    moved = advance(uow, release, Event.PROMOTED, ctx.actor)
    assert isinstance(moved, ReleaseRecord)  # the approved gate passed
    skipped = bypassed(gates)
    uow.audit(ctx.actor, AuditAction.COMMAND_PROMOTE, release.id, gates=[g.detail for g in gates])
    if skipped:
        approvers = _hotfix_approvers(uow, release)
        uow.audit(
            ctx.actor,
            AuditAction.BYPASS_HOTFIX,
            release.id,
            bypassed=[g.detail for g in skipped],
            approved_by=approvers,
        )
        ctx.conversation.announce(
            f":ambulance: *Bypass*: hotfix *{version}* is promoted by <@{ctx.actor}> "
            + "; ".join(g.detail for g in skipped)
            + f". Approved by {approvers}."
        )
    ctx.conversation.announce(
        f":rocket: <@{ctx.actor}> is promoting *{version}* to production: the staging "
        f"deployment `{staging}` that passed regression."
    )


def _hotfix_approvers(uow: UnitOfWork, release: ReleaseRecord) -> str:
    approved = uow.reviews_of(release.id, status=ReviewStatus.APPROVED)
    if not approved:
        return "nobody on record"
    return signers(approved[-1])


def unlock(ctx: Context, command: Unlock) -> None:
    """Clear the deploy lock: refused while its deploy is alive and renewing it, unless forced."""
    with ctx.transaction() as uow:
        if ctx.refused(uow, Action.FORCE_UNLOCK if command.force else Action.UNLOCK):
            return
        held = uow.deploy_lock(lock=True)
        if held is None:
            ctx.conversation.reply("No production deploy lock is held; nothing was changed.")
            return
        job = _lock_job(uow, held)
        alive = held.is_live(ctx.clock.now()) and (job is None or job.status == PENDING)
        if alive and not command.force:
            ctx.conversation.reply(
                f"The deploy of {held.version} (promoted by <@{held.actor}>) is still running and "
                f"renewed its lock until {in_zone(held.expires_at, ctx.zone)}, so the lock was "
                "not cleared: two deploys must never overlap. Wait for it, or if you are sure it "
                f"is stuck, `/release unlock --force <reason>`. Nothing was changed."
            )
            return
        uow.release_deploy_lock()
        if job is not None and job.status == PENDING:
            uow.end_job(job.id, CANCELLED, f"deploy lock cleared by {ctx.actor}")
            row = job.data.get("deployment_row")
            if row is not None and "production_id" not in job.data:
                uow.finish_deployment(int(row), ProductionDeploy.UNKNOWN)  # it may yet be serving
        # Nobody owns that deploy any more: it must not stay in flight with no way out.
        was = fail_in_flight(uow, held.version, ctx.actor)
        uow.audit(
            ctx.actor,
            AuditAction.DEPLOY_LOCK_FORCE_CLEARED if alive else AuditAction.DEPLOY_LOCK_CLEARED,
            None,
            reason=command.reason,
            holder=held.holder,
            version=held.version,
        )
        left = (
            f" {held.version} was `{was}`; it is now `failed`, and its deploy, if still "
            "running somewhere, stops at its next step."
            if was is not None
            else ""
        )
        forced = ":warning: *Forced*: " if alive else ""
        ctx.conversation.announce(
            f"{forced}:unlock: <@{ctx.actor}> cleared the production deploy lock held for "
            f"{held.version} (promoted by <@{held.actor}> at "
            f"{in_zone(held.acquired_at, ctx.zone)}): {escape(command.reason)}.{left} Check "
            "production before the next promotion."
        )
