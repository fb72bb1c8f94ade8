"""start, review and cancel: a release from its version to approval."""

from __future__ import annotations

import logging

from commands.context import Context
from commands.jobs import begin
from commands.live import in_production
from commands.parser import Cancel, OpenReview, Start
from commands.staging import STAGE
from commands.text import escape
from commands.transitions import advance
from release.audit import AuditAction
from release.lifecycle import Event, IllegalTransition, State, transition
from release.permissions import Action
from release.records import ReleaseRecord
from release.review_status import ReviewStatus
from release.versions import Version, is_newer
from storage.jobs import FAILED
from storage.unit_of_work import Conflict, UnitOfWork

log = logging.getLogger(__name__)
BOT = "release-bot"


def _locked_release(uow: UnitOfWork, ctx: Context, version: str) -> ReleaseRecord | None:
    release = uow.release(version, lock=True)
    if release is None:
        ctx.conversation.reply(
            f"There is no release {version}. Start one with `/release start {version}`."
        )
    return release


def refused_as_started(uow: UnitOfWork, ctx: Context, version: str) -> bool:
    """Refuse (and say so) when `version` exists already: a version names one release.

    The exception is a release whose staging failed for good: starting it again retries
    its staging, so an outage never burns a version.
    """
    existing = uow.release(version, lock=True)
    if existing is None:
        return False
    jobs = [j for j in uow.jobs_of(existing.id) if j.kind == STAGE.kind]
    if existing.state is State.PLANNED and jobs and jobs[-1].status == FAILED:
        begin(uow, STAGE, existing.id, ctx.actor, base=jobs[-1].data.get("base", "main"))
        uow.audit(ctx.actor, AuditAction.COMMAND_START, existing.id, version=version, retry=True)
        ctx.conversation.announce(
            f"<@{ctx.actor}> is retrying *{version}*: creating `{existing.branch}`, bumping "
            "the version and deploying it to staging."
        )
        return True
    ctx.conversation.reply(
        f"{version} was already started (it is `{existing.state}`). "
        f"See `/release status {version}`."
    )
    return True


def start(ctx: Context, command: Start) -> None:
    version = str(command.version)
    try:
        with ctx.transaction() as uow:
            if ctx.refused(uow, Action.START):
                return
            if refused_as_started(uow, ctx, version):
                return
            live = in_production(uow)
            if not is_newer(version, live):
                ctx.conversation.reply(
                    f"{version} is not newer than {live}, which reached production. "
                    "Pick a higher version."
                )
                return
            release = uow.add_release(
                version, kind="regular", branch=command.version.branch, started_by=ctx.actor
            )
            uow.audit(ctx.actor, AuditAction.COMMAND_START, release.id, version=version)
            ctx.conversation.announce(
                f"<@{ctx.actor}> started *{version}*: creating `{release.branch}` from `main`, "
                "bumping the version and deploying it to staging."
            )
            begin(uow, STAGE, release.id, ctx.actor, base="main")
    except Conflict:
        ctx.conversation.reply(f"{version} was started by someone else a moment ago.")


def _compliance(ctx: Context, version: Version) -> tuple[str, ...]:
    """A major release carries the policy's compliance items on its review."""
    return ctx.policy.compliance_items if version.is_major else ()


def open_review(ctx: Context, command: OpenReview) -> None:
    version = str(command.version)
    with ctx.transaction() as uow:
        if ctx.refused(uow, Action.OPEN_REVIEW):
            return
        release = _locked_release(uow, ctx, version)
        if release is None:
            return
        illegal = transition(release.state, Event.REVIEW_OPENED)
        if isinstance(illegal, IllegalTransition):
            ctx.conversation.reply(illegal.explain(version, "open a fresh review"))
            return
        if not release.regression_passed:
            ctx.conversation.reply(
                f"{version} has no passing regression on the build now on staging, so a review "
                f"would have nothing to approve. QA records a passing re-run with "
                f"`/release regression {version} pass <report-url>`, which opens the review."
            )
            return
        moved = advance(uow, release, Event.REVIEW_OPENED, ctx.actor)
        if isinstance(moved, IllegalTransition):
            ctx.conversation.reply(moved.explain(version, "open a fresh review"))
            return
        superseded = uow.reviews_of(release.id, status=ReviewStatus.OPEN)
        if release.kind == "hotfix":
            # A hotfix is reviewed by its own two roles, never the readiness four: their
            # approval is what allows it to skip a window or a freeze.
            review = uow.open_review(release.id, opened_by=ctx.actor, kind="hotfix")
        else:
            review = uow.open_review(
                release.id, opened_by=ctx.actor, compliance_items=_compliance(ctx, command.version)
            )
        uow.audit(ctx.actor, AuditAction.COMMAND_REVIEW, release.id, review_id=review.id)
        for old in superseded:
            ctx.conversation.show_review(old.id)
        what = "hotfix approval" if release.kind == "hotfix" else "readiness review"
        ctx.conversation.announce(f"<@{ctx.actor}> opened a fresh {what} of *{version}*.")
        ctx.conversation.post_review(review.id)


def cancel(ctx: Context, command: Cancel) -> None:
    version = str(command.version)
    with ctx.transaction() as uow:
        if ctx.refused(uow, Action.CANCEL):
            return
        release = _locked_release(uow, ctx, version)
        if release is None:
            return
        moved = advance(uow, release, Event.CANCELLED, ctx.actor, reason=command.reason)
        if isinstance(moved, IllegalTransition):
            ctx.conversation.reply(moved.explain(version, "be cancelled"))
            return
        closed = uow.close_reviews(release.id, ReviewStatus.CANCELLED)
        uow.audit(ctx.actor, AuditAction.COMMAND_CANCEL, release.id, reason=command.reason)
        for review in closed:
            ctx.conversation.show_review(review.id)
        ctx.conversation.announce(
            f":no_entry_sign: <@{ctx.actor}> cancelled *{version}*: {escape(command.reason)}"
        )
