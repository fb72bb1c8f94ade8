"""start, regression, review and cancel: a release from branch to approval."""

from __future__ import annotations

import logging

from commands.context import Context
from commands.jobs import Procedure, Result, Step, begin, release_of
from commands.live import in_production
from commands.parser import Cancel, OpenReview, Regression, Start
from commands.text import escape
from commands.transitions import advance
from integrations.ports import IntegrationError, TransientError
from release.audit import AuditAction
from release.lifecycle import Event, IllegalTransition, State, transition
from release.permissions import Action
from release.records import ReleaseRecord, ReviewRecord
from release.review_status import ReviewStatus
from release.versions import Version, is_newer
from storage.jobs import FAILED, JobRecord
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


# -- staging: policy steps 1 to 3 ------------------------------------------------------------


def _branch(ctx: Context, job: JobRecord) -> Result:
    with ctx.store.transaction() as uow:
        release = release_of(uow, job, lock=False)
    base = str(job.data.get("base", "main"))
    return {
        "branch": release.branch,
        "branch_sha": ctx.integrations.source.create_release_branch(release.branch, base),
    }


def _bump(ctx: Context, job: JobRecord) -> Result:
    with ctx.store.transaction() as uow:
        release = release_of(uow, job, lock=False)
    return {
        "version_bump_sha": ctx.integrations.source.bump_version(release.branch, release.version)
    }


def _deploy_staging(ctx: Context, job: JobRecord) -> Result:
    staging = ctx.integrations.deployer.deploy_staging(str(job.data["branch"]))
    return {"deployment_id": staging.id, "url": staging.url}


def _on_staging(uow: UnitOfWork, ctx: Context, job: JobRecord, result: Result) -> None:
    release = release_of(uow, job)
    uow.record_artefact(
        release.id,
        "staging_deploy",
        by=job.actor,
        url=result["url"],
        details={
            "deployment_id": result["deployment_id"],
            "branch_sha": job.data.get("branch_sha"),
            "version_bump_sha": job.data.get("version_bump_sha"),
        },
    )
    uow.set_staging_deployment(release.version, result["deployment_id"])
    moved = advance(uow, release, Event.STAGED, BOT)
    if isinstance(moved, IllegalTransition):
        return  # cancelled while deploying: the staging deploy is recorded, nothing moves
    ctx.conversation.announce(
        f"*{release.version}* is on staging ({result['url']}).{ctx.integrations.note} QA: run "
        "the full regression suite (E2E, accessibility, performance smoke) and record it with "
        f"`/release regression {release.version} pass|fail <report-url>`."
    )


def _staging_failed(
    uow: UnitOfWork, ctx: Context, job: JobRecord, what: str, _definite: bool
) -> None:
    release = release_of(uow, job)
    uow.audit(BOT, AuditAction.STAGING_FAILED, release.id, error=what, step=job.step)
    if release.state is not State.PLANNED:
        return
    again = "hotfix" if release.kind == "hotfix" else "start"
    ctx.conversation.announce(
        f":x: *{release.version}* could not reach staging: {what}. It stays `planned` and its "
        f"version is kept: once the cause is fixed, `/release {again} {release.version}` "
        f"retries from where it stopped, or `/release cancel {release.version} <reason>` "
        "drops it."
    )


STAGE = Procedure(
    kind="stage",
    first="branch",
    steps={
        "branch": Step(_branch, lambda uow, ctx, job, r: "bump"),
        "bump": Step(_bump, lambda uow, ctx, job, r: "deploy"),
        "deploy": Step(
            _deploy_staging,
            lambda uow, ctx, job, r: _on_staging(uow, ctx, job, r),
        ),
    },
    failed=_staging_failed,
)


# -- regression and the release notes (policy steps 4 and 5) -------------------------------


def regression(ctx: Context, command: Regression) -> None:
    version = str(command.version)
    event = Event.REGRESSION_PASSED if command.passed else Event.REGRESSION_FAILED
    with ctx.transaction() as uow:
        if ctx.refused(uow, Action.REGRESSION):
            return
        known = _locked_release(uow, ctx, version)
    if known is None:
        return
    # Promotion is linear: the result belongs to the build on staging now, and that exact
    # deployment is what a later promotion ships. (A read: no transaction is open.)
    try:
        tested = ctx.integrations.deployer.current_staging(known.branch)
    except IntegrationError as error:
        ctx.conversation.reply(
            f"Could not find the staging deployment of `{known.branch}`: {error}. "
            "Nothing was recorded; try again."
        )
        return
    with ctx.transaction() as uow:
        release = _locked_release(uow, ctx, version)
        if release is None:
            return
        moved = advance(uow, release, event, ctx.actor)
        if isinstance(moved, IllegalTransition):
            ctx.conversation.reply(moved.explain(version, "record a regression result"))
            return
        moved = uow.set_regression(version, passed=command.passed, staging_deployment_id=tested.id)
        uow.record_artefact(
            release.id,
            "regression_report",
            by=ctx.actor,
            outcome="pass" if command.passed else "fail",
            url=command.report_url,
            details={"staging_deployment_id": tested.id, "staging_url": tested.url},
        )
        uow.audit(
            ctx.actor,
            AuditAction.COMMAND_REGRESSION,
            release.id,
            outcome="pass" if command.passed else "fail",
            report_url=command.report_url,
        )
        if not command.passed:
            # A failing run voids any review, and an approval already won: re-approve a fix.
            for old in uow.close_reviews(release.id, ReviewStatus.VOIDED, approved_too=True):
                ctx.conversation.show_review(old.id)
            ctx.conversation.announce(
                f":x: Regression *failed* on staging for *{version}* "
                f"(<{escape(command.report_url)}|report>, recorded by <@{ctx.actor}>). To ship a "
                f"fix, push it to `{release.branch}`: staging redeploys from that branch. Then "
                f"QA runs the suite again and records it with `/release regression {version} "
                "pass|fail <report-url>`."
            )
            return
        if release.kind == "hotfix":
            review, approved = _hotfix_after_regression(uow, ctx, moved)
        else:
            for old in uow.close_reviews(release.id, ReviewStatus.VOIDED):
                ctx.conversation.show_review(old.id)
            review = uow.open_review(
                release.id, opened_by=ctx.actor, compliance_items=_compliance(ctx, command.version)
            )
            approved = False
        # The announcement carries the notes, so it waits for them (a GitHub call).
        begin(
            uow,
            NOTES,
            release.id,
            ctx.actor,
            report_url=command.report_url,
            review_id=review.id if review else None,
            hotfix_approved=approved,
        )


def _hotfix_after_regression(
    uow: UnitOfWork, ctx: Context, release: ReleaseRecord
) -> tuple[ReviewRecord | None, bool]:
    """A hotfix's approvals may come before its regression: honour them, or ask for them."""
    reviews = uow.reviews_of(release.id)
    latest = reviews[-1] if reviews else None
    if latest is not None and latest.status == ReviewStatus.APPROVED:
        advance(uow, release, Event.APPROVED, BOT)
        return None, True
    if latest is not None and latest.is_open:
        return None, False
    return uow.open_review(release.id, opened_by=ctx.actor, kind="hotfix"), False


def _generate_notes(ctx: Context, job: JobRecord) -> Result:
    with ctx.store.transaction() as uow:
        release = release_of(uow, job, lock=False)
    try:
        return {"notes": ctx.integrations.source.release_notes(release.version, release.branch)}
    except TransientError:
        raise
    except IntegrationError as error:
        return {"notes": f"_Release notes could not be generated: {error}_"}


def _notes_ready(uow: UnitOfWork, ctx: Context, job: JobRecord, result: Result) -> None:
    """Policy step 4: keep the notes with the release, then announce and open the review."""
    release = release_of(uow, job)
    notes = str(result["notes"])
    uow.set_notes(release.version, notes)
    version = release.version
    ctx.conversation.announce(
        f":white_check_mark: Regression *passed* on staging for *{version}* "
        f"(<{escape(str(job.data['report_url']))}|report>, recorded by <@{job.actor}>).\n"
        f"*Release notes*\n{notes}"
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
    _notes_ready(uow, ctx, job, {"notes": f"_Release notes could not be generated: {what}_"})


NOTES = Procedure(
    kind="notes",
    first="notes",
    steps={"notes": Step(_generate_notes, lambda uow, ctx, job, r: _notes_ready(uow, ctx, job, r))},
    failed=_notes_failed,
)


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
