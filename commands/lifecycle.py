"""start, regression, review, cancel and promote: a release from branch to production."""

from __future__ import annotations

import logging

from commands.context import Context, refusal_for_role
from commands.live import in_production
from commands.parser import Cancel, OpenReview, Regression, Start
from commands.transitions import advance
from integrations.ports import IntegrationError
from release.lifecycle import Event, IllegalTransition, transition
from release.records import ReleaseRecord, ReviewRecord
from release.roles import Role
from release.versions import Version, is_newer
from storage.unit_of_work import Conflict, UnitOfWork

log = logging.getLogger(__name__)


def _locked_release(uow: UnitOfWork, ctx: Context, version: str) -> ReleaseRecord | None:
    release = uow.release(version, lock=True)
    if release is None:
        ctx.conversation.reply(
            f"There is no release {version}. Start one with `/release start {version}`."
        )
    return release


def refused_as_started(uow: UnitOfWork, ctx: Context, version: str) -> bool:
    """Refuse (and say so) when `version` exists already: a version names one release."""
    existing = uow.release(version)
    if existing is not None:
        ctx.conversation.reply(
            f"{version} was already started (it is `{existing.state}`). "
            f"See `/release status {version}`."
        )
    return existing is not None


def start(ctx: Context, command: Start) -> None:
    version = str(command.version)
    try:
        with ctx.store.transaction() as uow:
            if Role.RELEASE_MANAGER not in ctx.roles(uow):
                ctx.conversation.reply(refusal_for_role(Role.RELEASE_MANAGER, "start a release"))
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
            uow.audit(ctx.actor, "command.start", release.id, version=version)
    except Conflict:
        ctx.conversation.reply(f"{version} was started by someone else a moment ago.")
        return
    ctx.conversation.announce(
        f"<@{ctx.actor}> started *{version}*: creating `{release.branch}` from `main`, "
        "bumping the version and deploying it to staging."
    )
    stage(ctx, release)


def stage(ctx: Context, release: ReleaseRecord, base: str = "main") -> None:
    """Policy steps 1 to 3: branch from `base`, bump the version, deploy to staging."""
    try:
        sha = ctx.integrations.source.create_release_branch(release.branch, base)
        bump = ctx.integrations.source.bump_version(release.branch, release.version)
        staging = ctx.integrations.deployer.deploy_staging(release.branch)
    except IntegrationError as error:
        with ctx.store.transaction() as uow:
            uow.audit(ctx.actor, "staging.failed", release.id, error=str(error))
        ctx.conversation.announce(
            f":x: {release.version} could not reach staging: {error}. It stays `planned`. Fix "
            f"the cause, cancel it (`/release cancel {release.version} <reason>`) and start "
            "the next version: a version names one release."
        )
        return
    with ctx.store.transaction() as uow:
        current = uow.release(release.version, lock=True)
        assert current is not None
        uow.record_artefact(
            current.id,
            "staging_deploy",
            by=ctx.actor,
            url=staging.url,
            details={"deployment_id": staging.id, "branch_sha": sha, "version_bump_sha": bump},
        )
        uow.update_release(current.version, staging_deployment_id=staging.id)
        moved = advance(uow, current, Event.STAGED, "release-bot")
    if isinstance(moved, IllegalTransition):
        return  # cancelled while deploying: the staging deploy is recorded, nothing moves
    ctx.conversation.announce(
        f"*{release.version}* is on staging ({staging.url}).{ctx.integrations.note} QA: run "
        "the full regression "
        "suite (E2E, accessibility, performance smoke) and record it with "
        f"`/release regression {release.version} pass|fail <report-url>`."
    )


def regression(ctx: Context, command: Regression) -> None:
    version = str(command.version)
    event = Event.REGRESSION_PASSED if command.passed else Event.REGRESSION_FAILED
    with ctx.store.transaction() as uow:
        if Role.QA not in ctx.roles(uow):
            ctx.conversation.reply(refusal_for_role(Role.QA, "record regression results"))
            return
        known = _locked_release(uow, ctx, version)
    if known is None:
        return
    # Promotion is linear: the result belongs to the build on staging now, and that exact
    # deployment is what a later promotion ships.
    try:
        tested = ctx.integrations.deployer.current_staging(known.branch)
    except IntegrationError as error:
        ctx.conversation.reply(
            f"Could not find the staging deployment of `{known.branch}`: {error}. "
            "Nothing was recorded; try again."
        )
        return
    with ctx.store.transaction() as uow:
        release = _locked_release(uow, ctx, version)
        if release is None:
            return
        moved = advance(
            uow,
            release,
            event,
            ctx.actor,
            regression_passed=command.passed,
            staging_deployment_id=tested.id,
        )
        if isinstance(moved, IllegalTransition):
            ctx.conversation.reply(moved.explain(version, "record a regression result"))
            return
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
            "command.regression",
            release.id,
            outcome="pass" if command.passed else "fail",
            report_url=command.report_url,
        )
        if not command.passed:
            # A failing run voids any review, and an approval already won: re-approve a fix.
            voided = uow.close_reviews(release.id, "voided", approved_too=True)
            review, approved = None, False
        elif release.kind == "hotfix":
            voided, (review, approved) = [], _hotfix_after_regression(uow, ctx, moved)
        else:
            voided = uow.close_reviews(release.id, "voided")
            review = uow.open_review(
                release.id, opened_by=ctx.actor, compliance_items=_compliance(ctx, command.version)
            )
            approved = False
    for old in voided:
        ctx.conversation.show_review(old.id)
    if not command.passed:
        ctx.conversation.announce(
            f":x: Regression *failed* on staging for *{version}* (<{command.report_url}|report>, "
            f"recorded by <@{ctx.actor}>). Fix the blockers, redeploy and record a re-run."
        )
        return
    notes = _release_notes(ctx, release)
    ctx.conversation.announce(
        f":white_check_mark: Regression *passed* on staging for *{version}* "
        f"(<{command.report_url}|report>, recorded by <@{ctx.actor}>).\n*Release notes*\n{notes}"
    )
    if review is not None:
        ctx.conversation.post_review(review.id)
    if approved:
        ctx.conversation.announce(
            f":white_check_mark: Hotfix *{version}* was already approved, so it may be promoted "
            f"now, at any time: `/release promote {version}`."
        )


def _hotfix_after_regression(
    uow: UnitOfWork, ctx: Context, release: ReleaseRecord
) -> tuple[ReviewRecord | None, bool]:
    """A hotfix's approvals may come before its regression: honour them, or ask for them."""
    reviews = uow.reviews_of(release.id)
    latest = reviews[-1] if reviews else None
    if latest is not None and latest.status == "approved":
        advance(uow, release, Event.APPROVED, "release-bot")
        return None, True
    if latest is not None and latest.is_open:
        return None, False
    return uow.open_review(release.id, opened_by=ctx.actor, kind="hotfix"), False


def _release_notes(ctx: Context, release: ReleaseRecord) -> str:
    """Policy step 4: generate the notes once and keep them with the release."""
    try:
        notes = ctx.integrations.source.release_notes(release.version, release.branch)
    except IntegrationError as error:
        notes = f"_Release notes could not be generated: {error}_"
    with ctx.store.transaction() as uow:
        uow.update_release(release.version, notes=notes)
    return notes


def _compliance(ctx: Context, version: Version) -> tuple[str, ...]:
    """A major release carries the policy's compliance items on its review."""
    return ctx.policy.compliance_items if version.is_major else ()


def open_review(ctx: Context, command: OpenReview) -> None:
    version = str(command.version)
    with ctx.store.transaction() as uow:
        if Role.RELEASE_MANAGER not in ctx.roles(uow):
            ctx.conversation.reply(refusal_for_role(Role.RELEASE_MANAGER, "open a review"))
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
        superseded = uow.reviews_of(release.id, status="open")
        if release.kind == "hotfix":
            # A hotfix is reviewed by its own two roles, never the readiness four: their
            # approval is what allows it to skip a window or a freeze.
            review = uow.open_review(release.id, opened_by=ctx.actor, kind="hotfix")
        else:
            review = uow.open_review(
                release.id, opened_by=ctx.actor, compliance_items=_compliance(ctx, command.version)
            )
        uow.audit(ctx.actor, "command.review", release.id, review_id=review.id)
    for old in superseded:
        ctx.conversation.show_review(old.id)
    what = "hotfix approval" if release.kind == "hotfix" else "readiness review"
    ctx.conversation.announce(f"<@{ctx.actor}> opened a fresh {what} of *{version}*.")
    ctx.conversation.post_review(review.id)


def cancel(ctx: Context, command: Cancel) -> None:
    version = str(command.version)
    with ctx.store.transaction() as uow:
        if Role.RELEASE_MANAGER not in ctx.roles(uow):
            ctx.conversation.reply(refusal_for_role(Role.RELEASE_MANAGER, "cancel a release"))
            return
        release = _locked_release(uow, ctx, version)
        if release is None:
            return
        moved = advance(uow, release, Event.CANCELLED, ctx.actor, reason=command.reason)
        if isinstance(moved, IllegalTransition):
            ctx.conversation.reply(moved.explain(version, "be cancelled"))
            return
        closed = uow.close_reviews(release.id, "cancelled")
        uow.audit(ctx.actor, "command.cancel", release.id, reason=command.reason)
    for review in closed:
        ctx.conversation.show_review(review.id)
    ctx.conversation.announce(
        f":no_entry_sign: <@{ctx.actor}> cancelled *{version}*: {command.reason}"
    )
