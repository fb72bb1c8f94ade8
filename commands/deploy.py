"""The production deploy: policy steps 6 to 8, as a durable job holding the deploy lock.

The job holds the production deploy lock from the promotion's gate transaction until its
last step. Whatever instance runs it renews the lock's lease; if that instance dies,
another resumes the job from its last completed step, so a deploy is never left half
done and never done twice (the deployer is asked what production serves first).
"""

from __future__ import annotations

import logging

from commands.context import Context
from commands.errors import incident_id
from commands.jobs import Procedure, Result, Step, release_of
from commands.live import fail_in_flight
from commands.transitions import advance
from integrations.ports import CheckResult, Deployment, IntegrationError, TransientError
from release.audit import AuditAction
from release.lifecycle import Event, IllegalTransition
from release.production import ProductionDeploy
from release.records import ReleaseRecord
from storage.jobs import DONE, FAILED, JobRecord
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
BOT = "release-bot"


def _production(job: JobRecord) -> Deployment:
    return Deployment(str(job.data["production_id"]), str(job.data.get("production_url", "")))


# -- step 6: promote the staging deployment that passed regression ---------------------------


def _promote(ctx: Context, job: JobRecord) -> Result:
    staging = Deployment(str(job.data["staging_id"]), "")
    production = ctx.integrations.deployer.promote(staging)
    return {"production_id": production.id, "production_url": production.url}


def _keep_deployment(uow: UnitOfWork, job: JobRecord, result: Result) -> ReleaseRecord:
    """Whatever else happened, a production deployment the deployer returned is recorded."""
    release = release_of(uow, job)
    uow.finish_deployment(
        int(job.data["deployment_row"]),
        ProductionDeploy.SUCCEEDED,
        deployment_id=str(result["production_id"]),
        url=str(result["production_url"]),
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
        f"*{release.version}* is live; running the post-deploy smoke tests.{ctx.integrations.note}"
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


# -- step 7: the smoke tests --------------------------------------------------------------------


def _smoke(ctx: Context, job: JobRecord) -> Result:
    results = ctx.integrations.smoke_tests.run(_production(job))
    return {"checks": [{"name": r.name, "passed": r.passed, "detail": r.detail} for r in results]}


def _smoked(uow: UnitOfWork, ctx: Context, job: JobRecord, result: Result) -> str | None:
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
    return "changelog"


# -- step 8: the change log ------------------------------------------------------------------


def _changelog(ctx: Context, job: JobRecord) -> Result:
    with ctx.store.transaction() as uow:
        release = release_of(uow, job, lock=False)
    try:
        ctx.integrations.source.update_changelog(release.version, release.notes)
    except TransientError:
        raise
    except IntegrationError as error:
        # The release is live and verified; a change-log failure must not undo that.
        return {"changelog_error": str(error)}
    return {}


def _released(uow: UnitOfWork, ctx: Context, job: JobRecord, result: Result) -> str | None:
    if _lost_lock(uow, ctx, job, Event.VERIFIED):
        return None
    release = release_of(uow, job)
    moved = advance(uow, release, Event.VERIFIED, BOT)
    uow.release_deploy_lock(job.holder)
    if isinstance(moved, IllegalTransition):
        return None
    error = result.get("changelog_error") or job.data.get("changelog_error")
    changelog = (
        f"*the change log was not updated* ({error}): update it by hand"
        if error
        else "the change log and support bulletin are updated"
    )
    names = ", ".join(c["name"] for c in job.data.get("checks", []))
    ctx.conversation.announce(
        f":tada: *{release.version}* is released. Smoke tests passed ({names}); "
        f"{changelog}.{ctx.integrations.note}\n*Release notes*\n{release.notes}"
    )
    return None


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
        uow.finish_deployment(int(job.data["deployment_row"]), outcome)
    if was is None:
        log.warning("after %s left flight: %s", release.version, what)
        return
    uow.audit(BOT, AuditAction.RELEASE_FAILED, release.id, detail=what)
    log.warning("release %s failed: %s", release.version, what)
    ctx.conversation.announce(
        f":rotating_light: *{release.version}* failed: {what}. Production may need a rollback."
    )


def _promotion_failed(
    uow: UnitOfWork, ctx: Context, job: JobRecord, what: str, definite: bool
) -> None:
    if job.step == "changelog":
        # Live and verified: a change log we could not write does not undo that.
        _released(uow, ctx, job, {"changelog_error": what})
        uow.end_job(job.id, DONE, f"change log not updated: {what}")
        return
    doing = {
        "promote": "the production deploy failed",
        "smoke": "the smoke tests could not run",
    }.get(job.step, "the promotion stopped")
    _fail(uow, ctx, job, f"{doing}: {what}", definite=definite)


PROMOTE = Procedure(
    kind="promote",
    first="promote",
    steps={
        "promote": Step(_promote, _deployed, orphaned=_deployed_after_unlock),
        "smoke": Step(_smoke, _smoked),
        "changelog": Step(_changelog, _released),
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
