"""Approve and Reject on a readiness review, and its compliance checkboxes."""

from __future__ import annotations

from dataclasses import dataclass

from commands.context import Context
from commands.text import escape
from commands.transitions import advance
from release.audit import AuditAction
from release.hotfixes import needs_four_eyes
from release.lifecycle import Event, IllegalTransition, State
from release.permissions import tick_refusal
from release.records import ReviewRecord
from release.review import Decision, Refusal, SignOff, sign, signable_roles
from release.review_status import ReviewStatus
from release.roles import Role
from release.windows import next_window, window_at
from storage.unit_of_work import Conflict, UnitOfWork

GONE = "That review no longer exists; nothing was recorded."


@dataclass(frozen=True)
class ChooseRole:
    """The clicker may sign more than one role: ask which (and why, on a rejection)."""

    review_id: int
    decision: Decision
    roles: tuple[Role, ...]


def _locked_review(uow: UnitOfWork, review_id: int) -> ReviewRecord | None:
    """The review, read after its release row is locked, so no sign-off can slip in between."""
    version = uow.version_under_review(review_id)
    if version is None:
        return None
    uow.release(version, lock=True)
    return uow.review(review_id)


def signers(review: ReviewRecord) -> str:
    """Who signed `review`, as the channel is told: "<@U1> (QA) and <@U2> (Security)"."""
    return " and ".join(f"<@{s.user_id}> ({s.role.label})" for s in review.sign_offs)


def _four_eyes(ctx: Context, review: ReviewRecord) -> bool:
    """A hotfix needs two different people whatever FOUR_EYES says: the policy names two roles."""
    return needs_four_eyes(hotfix=review.kind == "hotfix", configured=ctx.policy.four_eyes)


def refusal(ctx: Context, review_id: int) -> str | None:
    """Why a click on `review_id` would be refused, read in a read-only transaction (with
    the readers' cache): the same checks `clicked` makes first. None when it would not be:
    then `clicked` decides, its release locked, and nothing here is trusted."""
    with ctx.transaction() as uow:
        review = uow.cached(("review", review_id), lambda u: u.review(review_id))
        if review is None:
            return GONE
        allowed = signable_roles(
            review.rules(), ctx.actor, ctx.roles(uow), four_eyes=_four_eyes(ctx, review)
        )
    return allowed.reason if isinstance(allowed, Refusal) else None


def clicked(ctx: Context, review_id: int, decision: Decision) -> ChooseRole | None:
    """A confirmed Approve or Reject click. Returns what to ask next, if anything."""
    with ctx.transaction() as uow:
        review = _locked_review(uow, review_id)
        if review is None:
            ctx.conversation.reply(GONE)
            return None
        allowed = signable_roles(
            review.rules(), ctx.actor, ctx.roles(uow), four_eyes=_four_eyes(ctx, review)
        )
        if isinstance(allowed, Refusal):
            ctx.conversation.reply(allowed.reason)
            return None
        if decision is Decision.REJECT or len(allowed) > 1:
            return ChooseRole(review_id, decision, allowed)
    record(ctx, review_id, allowed[0], Decision.APPROVE, "")
    return None


def record(ctx: Context, review_id: int, role: Role, decision: Decision, reason: str) -> None:
    """Record one sign-off; the last approval approves the release, a rejection rejects it."""
    abandoned = ""
    try:
        with ctx.transaction() as uow:
            review = _locked_review(uow, review_id)
            if review is None:
                ctx.conversation.reply(GONE)
                return
            signed = sign(
                review.rules(),
                SignOff(role, ctx.actor, decision, reason.strip()),
                ctx.roles(uow),
                four_eyes=_four_eyes(ctx, review),
            )
            if isinstance(signed, Refusal):
                ctx.conversation.reply(signed.reason)
                return
            release = uow.release(review.version, lock=True)
            assert release is not None
            uow.add_sign_off(review_id, role, ctx.actor, decision, reason.strip())
            uow.audit(
                ctx.actor,
                AuditAction.SIGN_OFF,
                release.id,
                review_id=review_id,
                role=role.value,
                role_title=role.label,
                decision=decision.value,
                reason=reason.strip(),
            )
            uow.record_artefact(
                release.id,
                "approval",
                by=ctx.actor,
                outcome=decision.value,
                details={"review_id": review_id, "role": role.value, "reason": reason.strip()},
            )
            outcome: Event | None = None
            if decision is Decision.REJECT:
                outcome = Event.REJECTED
            elif signed.all_approved:
                outcome = Event.APPROVED
            waiting_for_regression = (
                outcome is Event.APPROVED
                and review.kind == "hotfix"
                and release.state in (State.PLANNED, State.STAGING, State.REGRESSION_FAILED)
            )
            if outcome is not None and not waiting_for_regression:
                moved = advance(uow, release, outcome, ctx.actor)
                if isinstance(moved, IllegalTransition):
                    # The release moved on (cancelled, regression failed) while the review was
                    # open: nothing is recorded, and the refusal says why.
                    abandoned = moved.explain(review.version, "be signed off")
                    raise _Abandon
            if outcome is not None:
                uow.close_review(
                    review_id,
                    ReviewStatus.APPROVED if outcome is Event.APPROVED else ReviewStatus.REJECTED,
                )
            verb = "approval" if decision is Decision.APPROVE else "rejection"
            ctx.conversation.reply(f"Recorded your {verb} of {review.version} as {role.label}.")
            ctx.conversation.show_review(review_id)
            _announce_outcome(ctx, uow, review, role, reason, outcome, waiting_for_regression)
    except Conflict:
        with ctx.transaction():
            ctx.conversation.reply(
                "Someone signed this review at the same moment; please look again."
            )
            ctx.conversation.show_review(review_id)
    except _Abandon:
        ctx.conversation.reply(abandoned)


def _announce_outcome(
    ctx: Context,
    uow: UnitOfWork,
    review: ReviewRecord,
    role: Role,
    reason: str,
    outcome: Event | None,
    waiting_for_regression: bool,
) -> None:
    if outcome is Event.APPROVED and review.kind == "hotfix":
        approvers = signers(uow.review(review.id) or review)
        after = (
            "it may be promoted at any time, inside or outside a window and during a freeze"
            if not waiting_for_regression
            else "once its staging regression passes it may be promoted at any time"
        )
        ctx.conversation.announce(
            f":white_check_mark: Hotfix *{review.version}* is approved by {approvers}: {after} "
            f"(`/release promote {review.version}`)."
        )
    elif outcome is Event.APPROVED:
        ctx.conversation.announce(
            f":white_check_mark: *{review.version}* is approved: Technical Lead, QA, Client "
            f"Success and Security all signed off. {_next_window(ctx)} A release manager "
            f"promotes it with `/release promote {review.version}`."
        )
    elif outcome is Event.REJECTED:
        ctx.conversation.announce(
            f":x: <@{ctx.actor}> rejected *{review.version}* as {role.label}: "
            f"{escape(reason.strip())}\n"
            f"After a fix, record a passing regression re-run or open a fresh review with "
            f"`/release review {review.version}`."
        )


def _next_window(ctx: Context) -> str:
    windows = ctx.policy.schedule.windows
    now = ctx.clock.now()
    open_now = window_at(windows, now)
    if open_now is not None:
        return f"A release window is open now, until {ctx.when(open_now.closes)}."
    return f"The next release window opens {ctx.when(next_window(windows, now).opens)}."


class _Abandon(Exception):
    """Roll the transaction back: the refusal has already been told."""


def tick(ctx: Context, review_id: int, selected: set[str]) -> None:
    """The compliance checkboxes now show `selected`: record each item that changed."""
    with ctx.transaction() as uow:
        review = _locked_review(uow, review_id)
        if review is None:
            ctx.conversation.reply(GONE)
            return
        refusal = tick_refusal(review.required_roles, ctx.roles(uow))
        if not review.is_open:
            ctx.conversation.reply("This review is closed; the checklist was not changed.")
        elif refusal is not None:
            ctx.conversation.reply(refusal.reason)
        else:
            for item in review.compliance_items:
                ticked = item in selected
                if uow.set_tick(review_id, item, ctx.actor, ticked):
                    uow.audit(
                        ctx.actor,
                        AuditAction.COMPLIANCE_TICKED
                        if ticked
                        else AuditAction.COMPLIANCE_UNTICKED,
                        review.release_id,
                        review_id=review_id,
                        item=item,
                    )
        # Always re-render: Slack shows the clicker's ticks until the message is updated.
        ctx.conversation.show_review(review_id)
