"""The production deploy: policy steps 6 to 8, as a durable job holding the deploy lock.

The job holds the production deploy lock from the promotion's gate transaction until the
smoke tests pass (or the release fails). Whatever instance runs it renews the lock's lease;
if that instance dies, another resumes the job from its last completed step, so a deploy is
never left half done and never done twice (the deployer is asked what production serves
first). After release, the change log, the notes e-mail and the support bulletin follow.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from commands.context import Context
from commands.errors import incident_id
from commands.jobs import Procedure, Result, Step, release_of
from commands.live import fail_in_flight
from commands.release_notes import as_mrkdwn, changelog_entry, email
from commands.staging import record_on_github
from commands.text import escape
from commands.transitions import advance
from integrations.ports import CheckResult, Deployment, IntegrationError, TransientError
from release.audit import AuditAction
from release.lifecycle import Event, IllegalTransition, State
from release.notes import ReleaseNotes
from release.production import ProductionDeploy
from release.records import ReleaseRecord
from storage.jobs import DONE, FAILED, PENDING, JobRecord
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
BOT = "release-bot"


ANNOUNCED_NOTES = 2500


def _production(job: JobRecord) -> Deployment:
    return Deployment(str(job.data["production_id"]), str(job.data.get("production_url", "")))


# -- step 6: promote the staging deployment that passed regression ---------------------------


def _staging(job: JobRecord) -> Deployment:
    return Deployment(str(job.data["staging_id"]), "", str(job.data.get("staging_sha") or ""))


def _promote(ctx: Context, job: JobRecord) -> Result:
    """Ask for the promotion, after noting what production served until now."""
    staging = _staging(job)
    deployer = ctx.integrations.deployer
    serving = deployer.production()
    result: Result = {}
    if serving is not None and serving.id != staging.id:
        result["replaced_id"] = serving.id
    if staging.sha:
        result |= record_on_github(ctx, "production", staging.sha, "in_progress", "", "promotion")
    try:
        deployer.promote(staging)
    except TransientError:
        raise
    except IntegrationError as error:
        if staging.sha:
            record_on_github(ctx, "production", staging.sha, "failure", "", str(error))
        raise
    return result


def _live(ctx: Context, job: JobRecord) -> Result:
    """Follow the promotion until production serves exactly that deployment."""
    staging = _staging(job)
    try:
        production = ctx.integrations.deployer.await_production(staging)
    except TransientError:
        raise
    except IntegrationError as error:
        if staging.sha:  # GitHub's Environments page shows the failure too
            record_on_github(ctx, "production", staging.sha, "failure", "", str(error))
        raise
    result: Result = {"production_id": production.id, "production_url": production.url}
    if staging.sha:
        result |= record_on_github(
            ctx, "production", staging.sha, "success", production.url, "promoted"
        )
    return result


def _keep_deployment(uow: UnitOfWork, job: JobRecord, result: Result) -> ReleaseRecord:
    """Whatever else happened, a production deployment the deployer returned is recorded."""
    release = release_of(uow, job)
    uow.finish_deployment(
        int(job.data["deployment_row"]),
        ProductionDeploy.SUCCEEDED,
        deployment_id=str(result["production_id"]),
        url=str(result["production_url"]),
        replaced=job.data.get("replaced_id"),
    )
    uow.set_production_deployment(release.version, str(result["production_id"]))
    uow.record_artefact(
        release.id,
        "production_deploy",
        by=BOT,
        url=str(result["production_url"]),
        details={"deployment_id": result["production_id"], "from_staging": job.data["staging_id"]},
    )
    return release


def _lost_lock(uow: UnitOfWork, ctx: Context, job: JobRecord, marking: Event) -> bool:
    """True (and said) when someone else holds the deploy lock: this deploy must not go on."""
    held = uow.deploy_lock(lock=True)
    if held is not None and held.holder == job.holder:
        return False
    release = release_of(uow, job)
    fail_in_flight(uow, release.version, BOT)
    uow.end_job(job.id, FAILED, "lost the deploy lock")
    current = release_of(uow, job)
    ctx.conversation.announce(
        f":warning: The promotion of *{release.version}* lost the production deploy lock (it is "
        f"now `{current.state}`), so it stopped before marking it `{marking.value}`. Check "
        "production before promoting anything else."
    )
    return True


def _deployed(uow: UnitOfWork, ctx: Context, job: JobRecord, result: Result) -> str | None:
    release = _keep_deployment(uow, job, result)
    if _lost_lock(uow, ctx, job, Event.DEPLOYED):
        return None
    advance(uow, release, Event.DEPLOYED, BOT)
    ctx.conversation.announce(
        f"*{release.version}* is live ({result['production_url']}); running the post-deploy "
        f"smoke tests.{ctx.integrations.note}{_github_note(result)}"
    )
    return "smoke"


def _deployed_after_unlock(uow: UnitOfWork, ctx: Context, job: JobRecord, result: Result) -> None:
    release = _keep_deployment(uow, job, result)
    uow.audit(
        BOT, AuditAction.DEPLOYMENT_RECORDED, release.id, deployment_id=result["production_id"]
    )
    ctx.conversation.announce(
        f":warning: The promotion of *{release.version}* finished after its deploy lock was "
        f"cleared: production now serves it (`{result['production_id']}`). It stays "
        f"`{release.state}`; check production before promoting anything else."
    )


def _github_note(result: Result) -> str:
    error = result.get("github_error")
    return f" _(GitHub's Environments page was not updated: {escape(error)})_" if error else ""


# -- step 7: the smoke tests --------------------------------------------------------------------


def _smoke(ctx: Context, job: JobRecord) -> Result:
    production = _production(job)
    results = ctx.integrations.smoke_tests.run(production)
    result: Result = {
        "checks": [{"name": r.name, "passed": r.passed, "detail": r.detail} for r in results]
    }
    sha = str(job.data.get("staging_sha") or "")
    if sha and not all(r.passed for r in results):  # the release fails: GitHub says so too
        result |= record_on_github(
            ctx, "production", sha, "failure", production.url, "smoke tests failed"
        )
    return result


def _smoked(uow: UnitOfWork, ctx: Context, job: JobRecord, result: Result) -> str | None:
    """Record every check; all passed: the release is released and the lock is free."""
    if _lost_lock(uow, ctx, job, Event.VERIFIED):
        return None
    release = release_of(uow, job)
    checks = [CheckResult(c["name"], c["passed"], c["detail"]) for c in result["checks"]]
    uow.record_artefact(
        release.id,
        "smoke_tests",
        by=BOT,
        outcome="pass" if all(c.passed for c in checks) else "fail",
        details={"checks": result["checks"]},
    )
    failed = [c for c in checks if not c.passed]
    if failed:
        _fail(
            uow,
            ctx,
            job,
            "smoke tests failed: " + ", ".join(f"{c.name} ({c.detail})" for c in failed),
        )
        return None
    moved = advance(uow, release, Event.VERIFIED, BOT)
    uow.release_deploy_lock(job.holder)
    if isinstance(moved, IllegalTransition):
        return None
    passed = ", ".join(
        f"{escape(c.name)} ({escape(c.detail)})" if c.detail else escape(c.name) for c in checks
    )
    notes = _notes_of(release)
    ctx.conversation.announce(
        f":tada: *{release.version}* is released. Smoke tests passed: {passed}."
        f"{ctx.integrations.note} Next: the change log, the release notes e-mail and the "
        f"support bulletin.\n*Release notes*\n{as_mrkdwn(notes, ANNOUNCED_NOTES)}"
    )
    return "changelog"


# -- step 8: the change log, the e-mail and the support bulletin -----------------------------


def _notes_of(release: ReleaseRecord) -> ReleaseNotes:
    return release.notes_data or ReleaseNotes(release.version, remark=release.notes)


def _not_live(uow: UnitOfWork, release: ReleaseRecord) -> str | None:
    """Why a released release is no news any more, if it is not: it is being rolled back."""
    if release.state is not State.RELEASED:
        return f"it is `{release.state}` now"
    if any(j.kind == "rollback" and j.status == PENDING for j in uow.jobs_of(release.id)):
        return "it is being rolled back"
    return None


def _changelog(ctx: Context, job: JobRecord) -> Result:
    with ctx.store.transaction() as uow:
        release = release_of(uow, job, lock=False)
        gone = _not_live(uow, release)
    if gone:
        return {"changelog_skipped": gone}
    entry = changelog_entry(_notes_of(release), ctx.clock.now().astimezone(ctx.zone).date())
    try:
        ctx.integrations.source.update_changelog(release.version, entry)
    except TransientError:
        raise
    except IntegrationError as error:
        # The release is live and verified; a change-log failure must not undo that.
        return {"changelog_error": str(error)}
    return {}


def _email(ctx: Context, job: JobRecord) -> Result:
    mailer = ctx.integrations.mailer
    if mailer is None or ctx.integrations.dry_run:  # no e-mail about a rehearsal
        return {}
    with ctx.store.transaction() as uow:
        release = release_of(uow, job, lock=False)
        gone = _not_live(uow, release)
    if gone:  # rolled back meanwhile: it is not news any more
        return {"email_skipped": gone}
    try:
        mailer.send(email(_notes_of(release)))
    except TransientError:
        raise
    except IntegrationError as error:
        return {"email_error": str(error)}
    return {"emailed": True}


def _followed_up(uow: UnitOfWork, ctx: Context, job: JobRecord, result: Result) -> None:
    """Say how the follow-up went, and post the support bulletin."""
    release = release_of(uow, job, lock=False)
    data = {**job.data, **result}
    done, undone = [], []
    if data.get("changelog_error"):
        undone.append(
            f"*the change log was not updated* ({escape(data['changelog_error'])}): update it "
            "by hand"
        )
    elif "GitHub" in ctx.integrations.dry:
        undone.append("the change log is not written (GitHub is a dry run)")
    elif data.get("changelog_skipped"):
        undone.append(f"the change log is not written ({data['changelog_skipped']})")
    else:
        done.append("the change log is updated")
    rehearsal = ctx.integrations.dry_run
    gone = _not_live(uow, release)
    if ctx.integrations.mailer is None:
        undone.append("no release notes e-mail is configured (`SMTP_URL`)")
    elif data.get("email_error"):
        undone.append(f"*the release notes e-mail was not sent* ({escape(data['email_error'])})")
    elif data.get("emailed"):
        done.append("the release notes are e-mailed")
    else:
        why = "a dry-run deploy" if rehearsal else (gone or data.get("email_skipped", ""))
        undone.append(f"the release notes e-mail is not sent ({why})")
    support = ctx.integrations.support_channel
    if not support:
        undone.append("no support channel is configured (`SUPPORT_CHANNEL_ID`)")
    elif rehearsal or gone:
        why = "a dry-run deploy" if rehearsal else gone
        undone.append(f"the support bulletin is not posted ({why})")
    else:
        ctx.conversation.announce(_bulletin(release), channel=support)
        done.append(f"the support bulletin is posted in <#{support}>")
    dry = f" _(dry run: {', '.join(ctx.integrations.dry)})_" if ctx.integrations.dry else ""
    ctx.conversation.announce(
        f"*{release.version}* follow-up: " + "; ".join(done + undone) + f".{dry}"
    )


def _bulletin(release: ReleaseRecord) -> str:
    notes = _notes_of(release)
    return (
        f":mega: *Support bulletin: {release.version} is live.*\n"
        f"{as_mrkdwn(notes, ANNOUNCED_NOTES)}\nQuestions about a change go to the release "
        "channel."
    )


def _fail(
    uow: UnitOfWork, ctx: Context, job: JobRecord, what: str, *, definite: bool = True
) -> None:
    """Fail the release if it is still in flight, free the lock, say what failed.

    A promotion we gave up on without the deployer saying no (timeouts) may be live:
    its deployment is recorded `unknown`, which keeps anything older out of production.
    """
    uow.deploy_lock(lock=True)  # lock order everywhere: the lock row, then release rows
    release = release_of(uow, job)
    was = fail_in_flight(uow, release.version, BOT)
    uow.release_deploy_lock(job.holder)
    if "production_id" not in job.data and job.data.get("deployment_row") is not None:
        outcome = ProductionDeploy.FAILED if definite else ProductionDeploy.UNKNOWN
        uow.finish_deployment(
            int(job.data["deployment_row"]), outcome, replaced=job.data.get("replaced_id")
        )
    if was is None:
        log.warning("after %s left flight: %s", release.version, what)
        return
    uow.audit(BOT, AuditAction.RELEASE_FAILED, release.id, detail=what)
    log.warning("release %s failed: %s", release.version, what)
    if "production_id" in job.data or not definite:
        after = (
            "Production may need a rollback: a release manager can run "
            f"`/release rollback {release.version}`, which restores the deployment production "
            "served before it."
        )
    else:
        after = "Vercel refused it, so production still serves what it served before."
    ctx.conversation.announce(
        f":rotating_light: *{release.version}* failed: {escape(what)}. {after}"
    )


def _promotion_failed(
    uow: UnitOfWork, ctx: Context, job: JobRecord, what: str, definite: bool
) -> str | None:
    if job.step == "changelog":
        return "email"  # released: the e-mail and the bulletin still follow
    if job.step == "email":
        _followed_up(uow, ctx, job, {"email_error": what})
        uow.end_job(job.id, DONE, f"email not sent: {what}")
        return None
    doing = {
        "promote": "the production deploy failed",
        "live": "the production deploy failed",
        "smoke": "the smoke tests could not run",
    }.get(job.step, "the promotion stopped")
    # A promotion that was asked for and then failed may serve some traffic: unknown. So may
    # one refused on a later attempt: an earlier request may have gone through.
    definite = definite and job.step == "promote" and job.attempts == 0
    _fail(uow, ctx, job, f"{doing}: {what}", definite=definite)
    return None


PROMOTE = Procedure(
    kind="promote",
    first="promote",
    steps={
        "promote": Step(_promote, lambda uow, ctx, job, r: "live"),
        # Vercel moves the domains in seconds; a slow region may take minutes.
        "live": Step(
            _live, _deployed, orphaned=_deployed_after_unlock, wait_limit=timedelta(minutes=15)
        ),
        "smoke": Step(_smoke, _smoked),
        "changelog": Step(_changelog, lambda uow, ctx, job, r: "email"),
        "email": Step(_email, _followed_up),
    },
    failed=_promotion_failed,
    holds_deploy_lock=True,
)


def why(error: Exception) -> str:
    """What a user may be told about a failure: never a trace or a secret."""
    if isinstance(error, IntegrationError):
        return str(error)
    ref = incident_id()
    log.error("release step failed (ref %s)", ref, exc_info=error)
    return f"an unexpected error (ref `{ref}` in the bot's log)"
