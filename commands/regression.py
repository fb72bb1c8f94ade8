"""The staging regression result and the release notes (policy steps 2 and 4).

A result comes from QA (`/release regression`) or from the regression workflow the bot
ran on the release branch; either way it belongs to the staging build it tested, and a
pass opens the readiness review once the notes are ready.
"""

from __future__ import annotations

import logging

from commands.context import Context
from commands.jobs import Procedure, Result, Step, begin, release_of
from commands.live import in_production
from commands.parser import Regression
from commands.release_notes import as_mrkdwn
from commands.text import escape
from commands.transitions import advance
from integrations.ports import Deployment, IntegrationError, TransientError
from release.audit import AuditAction
from release.lifecycle import Event, IllegalTransition
from release.notes import Change, Labelled, ReleaseNotes, group
from release.permissions import Action
from release.records import ReleaseRecord, ReviewRecord
from release.review_status import ReviewStatus
from release.versions import parse_version
from storage.jobs import JobRecord
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
BOT = "release-bot"
#: How much of the notes an announcement shows; the rest is behind the full list's link.
ANNOUNCED_NOTES = 3000


def regression(ctx: Context, command: Regression) -> None:
    """QA records a regression run by hand (always allowed: it overrides the workflow's)."""
    version = str(command.version)
    with ctx.transaction() as uow:
        if ctx.refused(uow, Action.REGRESSION):
            return
        known = uow.release(version)
        if known is None:
            ctx.conversation.reply(
                f"There is no release {version}. Start one with `/release start {version}`."
            )
            return
    # Promotion is linear: the result belongs to the build on staging now, and that exact
    # deployment is what a later promotion ships. (A read: no transaction is open.)
    try:
        tested = ctx.integrations.deployer.current_staging(known.branch)
    except IntegrationError as error:
        ctx.conversation.reply(
            f"Could not find the staging deployment of `{known.branch}`: {escape(str(error))}. "
            "Nothing was recorded; try again."
        )
        return
    with ctx.transaction() as uow:
        release = uow.release(version, lock=True)
        assert release is not None  # releases are never deleted
        refusal = record_regression(
            uow,
            ctx,
            release,
            passed=command.passed,
            report_url=command.report_url,
            tested=tested,
            actor=ctx.actor,
        )
        if refusal:
            ctx.conversation.reply(refusal)


def record_regression(
    uow: UnitOfWork,
    ctx: Context,
    release: ReleaseRecord,
    *,
    passed: bool,
    report_url: str,
    tested: Deployment,
    actor: str,
) -> str | None:
    """Record a run's result against the build it tested; the refusal, if it cannot be."""
    version = release.version
    event = Event.REGRESSION_PASSED if passed else Event.REGRESSION_FAILED
    moved = advance(uow, release, event, actor)
    if isinstance(moved, IllegalTransition):
        return moved.explain(version, "record a regression result")
    moved = uow.set_regression(
        version, passed=passed, staging_deployment_id=tested.id, staging_sha=tested.sha
    )
    outcome = "pass" if passed else "fail"
    uow.record_artefact(
        release.id,
        "regression_report",
        by=actor,
        outcome=outcome,
        url=report_url,
        details={"staging_deployment_id": tested.id, "staging_url": tested.url, "sha": tested.sha},
    )
    uow.audit(
        actor, AuditAction.COMMAND_REGRESSION, release.id, outcome=outcome, report_url=report_url
    )
    who = "the regression workflow" if actor == BOT else f"<@{actor}>"
    if not passed:
        # A failing run voids any review, and an approval already won: re-approve a fix.
        for old in uow.close_reviews(release.id, ReviewStatus.VOIDED, approved_too=True):
            ctx.conversation.show_review(old.id)
        ctx.conversation.announce(
            f":x: Regression *failed* on staging for *{version}* "
            f"(<{escape(report_url)}|report>, recorded by {who}). To ship a fix, push it to "
            f"`{release.branch}`: staging redeploys from that branch. Then QA runs the suite "
            f"again and records it with `/release regression {version} pass|fail <report-url>`."
        )
        return None
    if release.kind == "hotfix":
        review, approved = _hotfix_after_regression(uow, ctx, moved, actor)
    else:
        for old in uow.close_reviews(release.id, ReviewStatus.VOIDED):
            ctx.conversation.show_review(old.id)
        major = (parsed := parse_version(version)) is not None and parsed.is_major
        review = uow.open_review(
            release.id,
            opened_by=actor,
            compliance_items=ctx.policy.compliance_items if major else (),
        )
        approved = False
    # The announcement carries the notes, so it waits for them (a GitHub call).
    begin(
        uow,
        NOTES,
        release.id,
        actor,
        report_url=report_url,
        review_id=review.id if review else None,
        hotfix_approved=approved,
    )
    return None


def _hotfix_after_regression(
    uow: UnitOfWork, ctx: Context, release: ReleaseRecord, actor: str
) -> tuple[ReviewRecord | None, bool]:
    """A hotfix's approvals may come before its regression: honour them, or ask for them."""
    reviews = uow.reviews_of(release.id)
    latest = reviews[-1] if reviews else None
    if latest is not None and latest.status == ReviewStatus.APPROVED:
        advance(uow, release, Event.APPROVED, BOT)
        return None, True
    if latest is not None and latest.is_open:
        return None, False
    return uow.open_review(release.id, opened_by=actor, kind="hotfix"), False


# -- the release notes: the pull requests merged since the previous release -----------------


def _generate_notes(ctx: Context, job: JobRecord) -> Result:
    with ctx.store.transaction() as uow:
        release = release_of(uow, job, lock=False)
        live = in_production(uow)
        previous = uow.release(live) if live else None
    if release.kind == "hotfix":
        # Its changes are the fix commits on its own branch, not what main merged meanwhile.
        base = f" of {previous.version}" if previous is not None else ""
        notes = ReleaseNotes(release.version, remark=f"Hotfix{base}: {release.reason}")
        return {"notes": notes.to_data()}
    # The previous release's branch point; a release from before the bot kept one, its branch.
    since = (
        (previous.branch_point or previous.staging_sha or previous.branch)
        if previous is not None
        else None
    )
    source = ctx.integrations.source
    try:
        until = release.branch_point or source.head(release.branch)
        merged = source.merged_pulls(since, until)
    except TransientError:
        raise
    except IntegrationError as error:
        return {"notes": ReleaseNotes(release.version, remark=_unreadable(error)).to_data()}
    notes = group(
        release.version,
        (Labelled(Change(p.number, p.title, p.url, p.author), p.labels) for p in merged.pulls),
        merged.full_list_url,
    )
    if "GitHub" in ctx.integrations.dry:
        notes = ReleaseNotes(
            release.version,
            remark="Dry run: the notes list the pull requests merged since the previous "
            "release once GitHub is configured.",
        )
    elif since is None:
        notes = ReleaseNotes(
            notes.version,
            notes.sections,
            notes.full_list_url,
            remark="The first release the bot knows of: every pull request merged so far.",
        )
    return {"notes": notes.to_data()}


def _unreadable(error: Exception | str) -> str:
    return f"Release notes could not be generated: {error}"


def _notes_ready(uow: UnitOfWork, ctx: Context, job: JobRecord, result: Result) -> None:
    """Policy step 4: keep the notes with the release, then announce and open the review."""
    release = release_of(uow, job)
    notes = ReleaseNotes.from_data(result["notes"])
    uow.set_notes(release.version, notes)
    version = release.version
    who = "the regression workflow" if job.actor == BOT else f"<@{job.actor}>"
    ctx.conversation.announce(
        f":white_check_mark: Regression *passed* on staging for *{version}* "
        f"(<{escape(str(job.data['report_url']))}|report>, recorded by {who}).\n"
        f"*Release notes*\n{as_mrkdwn(notes, ANNOUNCED_NOTES)}"
    )
    if job.data.get("review_id") is not None:
        ctx.conversation.show_review(int(job.data["review_id"]))
    if job.data.get("hotfix_approved"):
        ctx.conversation.announce(
            f":white_check_mark: Hotfix *{version}* was already approved, so it may be promoted "
            f"now, at any time: `/release promote {version}`."
        )


def _notes_failed(
    uow: UnitOfWork, ctx: Context, job: JobRecord, what: str, _definite: bool
) -> None:
    release = release_of(uow, job, lock=False)
    notes = ReleaseNotes(release.version, remark=_unreadable(what))
    _notes_ready(uow, ctx, job, {"notes": notes.to_data()})


NOTES = Procedure(
    kind="notes",
    first="notes",
    steps={"notes": Step(_generate_notes, lambda uow, ctx, job, r: _notes_ready(uow, ctx, job, r))},
    failed=_notes_failed,
)
