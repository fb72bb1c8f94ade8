"""promote, check and unlock: the gates to production and the one-deploy-at-a-time lock."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from commands.context import Context, refusal_for_role
from commands.deploy import BOT, run_deploy
from commands.live import fail_in_flight, in_production
from commands.parser import Check, Promote, Unlock
from commands.sign_off import signers
from commands.timefmt import in_zone
from commands.transitions import advance
from integrations.ports import Deployment
from release.freezes import freeze_at
from release.gates import Gate, PromotionFacts, bypassed, failing, promotion_gates
from release.lifecycle import Event, State
from release.records import DeployLockRecord, ReleaseRecord
from release.roles import Role
from release.windows import next_window, window_at
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def _facts(uow: UnitOfWork, ctx: Context, release: ReleaseRecord, *, lock: bool) -> PromotionFacts:
    now = ctx.clock.now()
    windows = ctx.policy.schedule.windows
    held = uow.deploy_lock(lock=lock)
    in_flight = _describe_lock(ctx, held) if held is not None and held.is_live(now) else None
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
    """An expired deploy lock that was cleared, and the release it left behind."""

    lock: DeployLockRecord
    release_state: State | None


def reap_expired_lock(uow: UnitOfWork, ctx: Context) -> Reaped | None:
    """Clear a deploy lock whose holder stopped renewing it; fail the deploy it abandoned.

    Callers hold the lock row first (uow.deploy_lock(lock=True)), then release rows.
    """
    held = uow.deploy_lock(lock=True)
    if held is None or held.is_live(ctx.clock.now()):
        return None
    uow.release_deploy_lock(held.holder)
    was = fail_in_flight(uow, held.version, BOT) if held.version else None
    release = uow.release(held.version) if held.version else None
    uow.audit(
        BOT,
        "deploy_lock.reclaimed",
        release.id if release else None,
        holder=held.holder,
        version=held.version,
        expired_at=held.expires_at.isoformat(),
    )
    return Reaped(held, was)


def announce_reaped(ctx: Context, reaped: Reaped) -> None:
    lock = reaped.lock
    left = ""
    if reaped.release_state in (State.DEPLOYING, State.VERIFYING):
        left = (
            f" {lock.version} was `{reaped.release_state}` when its instance stopped; it is now "
            "`failed`. Check production before promoting anything else."
        )
    ctx.conversation.announce(
        f":unlock: The production deploy lock for {lock.version} (promoted by <@{lock.actor}>) "
        f"expired at {in_zone(lock.expires_at, ctx.zone)}: the instance holding it "
        f"(`{lock.holder}`) stopped renewing it, so it was reclaimed.{left}"
    )


def _gate_line(gate: Gate) -> str:
    mark = ":white_check_mark:" if gate.passed else ":x:"
    if gate.bypassed:
        mark = ":warning:"
    return f"{mark} {gate.detail}"


def check(ctx: Context, command: Check) -> None:
    version = str(command.version)
    with ctx.store.transaction() as uow:
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
    """Policy step 6, gated; then the smoke tests (step 7) and the change log (step 8).

    Reaping a dead instance's lock, the gates, taking the lock and the move to `deploying`
    are one transaction, so two instances promoting at once cannot both pass the "no
    deploy in flight" gate, and no expired lock is taken over unannounced.
    """
    version = str(command.version)
    token = f"{ctx.instance}:{uuid.uuid4().hex[:8]}"  # this deploy, not just this process
    refusal = None
    promoted: ReleaseRecord | None = None
    with ctx.store.transaction() as uow:
        if Role.RELEASE_MANAGER not in ctx.roles(uow):
            ctx.conversation.reply(refusal_for_role(Role.RELEASE_MANAGER, "promote a release"))
            return
        uow.deploy_lock(lock=True)  # lock order everywhere: the lock row, then release rows
        reaped = reap_expired_lock(uow, ctx)
        release = uow.release(version, lock=True)
        if release is None:
            refusal = f"There is no release {version}."
        else:
            gates = promotion_gates(_facts(uow, ctx, release, lock=True), ctx.when)
            blocked = failing(gates)
            if blocked:
                refusal = (
                    f"{version} cannot be promoted now. Failing gates:\n"
                    + "\n".join(f"• {g.detail}" for g in blocked)
                    + f"\n`/release check {version}` shows every gate."
                )
            else:
                taken = uow.acquire_deploy_lock(
                    token, version, ctx.actor, ctx.policy.deploy_lock_lease
                )
                # The gate passed with the lock row held, and an expired holder was reaped.
                assert taken.acquired and taken.reclaimed_from is None
                moved = advance(uow, release, Event.PROMOTED, ctx.actor)
                assert isinstance(moved, ReleaseRecord)  # the approved gate passed
                promoted = moved
                skipped = bypassed(gates)
                approvers = _hotfix_approvers(uow, release) if skipped else ""
                uow.audit(ctx.actor, "command.promote", release.id, gates=[g.detail for g in gates])
                if skipped:
                    uow.audit(
                        ctx.actor,
                        "bypass.hotfix",
                        release.id,
                        bypassed=[g.detail for g in skipped],
                        approved_by=approvers,
                    )
    if reaped is not None:  # told whatever happens to this promotion
        announce_reaped(ctx, reaped)
    if refusal is not None or promoted is None:
        ctx.conversation.reply(refusal or f"There is no release {version}.")
        return
    staging = Deployment(promoted.staging_deployment_id or "", "")
    preamble = [
        f":rocket: <@{ctx.actor}> is promoting *{version}* to production: the staging "
        f"deployment `{staging.id}` that passed regression."
    ]
    if skipped:
        preamble.insert(
            0,
            f":ambulance: *Bypass*: hotfix *{version}* is promoted by <@{ctx.actor}> "
            + "; ".join(g.detail for g in skipped)
            + f". Approved by {approvers}.",
        )
    run_deploy(ctx, promoted, staging, token, preamble)


def _hotfix_approvers(uow: UnitOfWork, release: ReleaseRecord) -> str:
    approved = uow.reviews_of(release.id, status="approved")
    if not approved:
        return "nobody on record"
    return signers(approved[-1])


def unlock(ctx: Context, command: Unlock) -> None:
    with ctx.store.transaction() as uow:
        if Role.RELEASE_MANAGER not in ctx.roles(uow):
            ctx.conversation.reply(refusal_for_role(Role.RELEASE_MANAGER, "clear the deploy lock"))
            return
        cleared = uow.release_deploy_lock()
        if cleared is None:
            ctx.conversation.reply("No production deploy lock is held; nothing was changed.")
            return
        # Nobody owns that deploy any more: it must not stay in flight with no way out.
        was = fail_in_flight(uow, cleared.version, ctx.actor)
        uow.audit(
            ctx.actor,
            "deploy_lock.cleared",
            None,
            reason=command.reason,
            holder=cleared.holder,
            version=cleared.version,
        )
    left = (
        f" {cleared.version} was `{was}`; it is now `failed`, and its deploy, if still "
        "running somewhere, stops at its next step."
        if was is not None
        else ""
    )
    ctx.conversation.announce(
        f":unlock: <@{ctx.actor}> cleared the production deploy lock held for {cleared.version} "
        f"(promoted by <@{cleared.actor}> at {in_zone(cleared.acquired_at, ctx.zone)}): "
        f"{command.reason}.{left} Check production before the next promotion."
    )
