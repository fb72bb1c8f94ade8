"""From version to staging (policy steps 1 to 3), then the regression workflow (step 2).

A durable job: create `release/vX.Y.Z` from main, bump package.json on it, wait for
Vercel's Git integration to build that commit for staging, and, when GitHub Actions is
configured, run the regression workflow on the branch and record its result.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from commands.context import Context
from commands.errors import incident_id
from commands.jobs import Procedure, Result, Step, release_of
from commands.regression import BOT, record_regression
from commands.text import escape
from commands.transitions import advance
from integrations.ports import Deployment, IntegrationError
from release.audit import AuditAction
from release.lifecycle import Event, IllegalTransition, State
from storage.jobs import JobRecord
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def _branch(ctx: Context, job: JobRecord) -> Result:
    with ctx.store.transaction() as uow:
        release = release_of(uow, job, lock=False)
    base = str(job.data.get("base", "main"))
    return {
        "branch": release.branch,
        "branch_sha": ctx.integrations.source.create_release_branch(release.branch, base),
    }


def _branched(uow: UnitOfWork, ctx: Context, job: JobRecord, result: Result) -> str:
    release = release_of(uow, job)
    if release.branch_point is None:  # a retry finds the branch moved on: keep the first
        uow.set_branch_point(release.version, str(result["branch_sha"]))
    return "bump"


def _bump(ctx: Context, job: JobRecord) -> Result:
    with ctx.store.transaction() as uow:
        release = release_of(uow, job, lock=False)
    return {
        "version_bump_sha": ctx.integrations.source.bump_version(release.branch, release.version)
    }


def _staging_build(ctx: Context, job: JobRecord) -> Result:
    """Wait for the staging build of the bump commit, and say so on GitHub's Environments."""
    branch, sha = str(job.data["branch"]), str(job.data["version_bump_sha"])
    staging = ctx.integrations.deployer.staging_build(branch, sha)
    result: Result = {"deployment_id": staging.id, "url": staging.url, "staging_sha": sha}
    result |= record_on_github(ctx, "staging", sha, "success", staging.url, branch)
    return result


def record_on_github(
    ctx: Context, environment: str, sha: str, state: str, url: str, what: str
) -> Result:
    """GitHub's Environments page follows the deploy; a GitHub outage or refusal never
    undoes or repeats one (the deploy is done: the step is not run again for a status)."""
    try:
        ctx.integrations.source.record_deployment(environment, sha, state, url, what)
    except IntegrationError as error:
        log.warning("could not record the %s deployment on GitHub: %s", environment, error)
        return {"github_error": str(error)}
    except Exception as error:  # a surprise from the client: still never undoes a deploy
        ref = incident_id()
        log.error(
            "recording the %s deployment on GitHub failed (ref %s)",
            environment,
            ref,
            exc_info=error,
        )
        return {"github_error": f"an unexpected error (ref `{ref}` in the bot's log)"}
    return {}


def _on_staging(uow: UnitOfWork, ctx: Context, job: JobRecord, result: Result) -> str | None:
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
    uow.set_staging_deployment(release.version, result["deployment_id"], result["staging_sha"])
    moved = advance(uow, release, Event.STAGED, BOT)
    if isinstance(moved, IllegalTransition):
        return None  # cancelled while deploying: the staging deploy is recorded, nothing moves
    suite = ctx.integrations.regression
    record = (
        "The regression workflow is starting on the branch; its result is recorded here by "
        "itself. QA may still record a run by hand with "
        if suite is not None
        else "QA: run the full regression suite (E2E, accessibility, performance smoke) and "
        "record it with "
    )
    github = (
        f" _(GitHub's Environments page was not updated: {escape(result['github_error'])})_"
        if result.get("github_error")
        else ""
    )
    ctx.conversation.announce(
        f"*{release.version}* is on staging ({result['url']}).{ctx.integrations.note} {record}"
        f"`/release regression {release.version} pass|fail <report-url>`.{github}"
    )
    return "dispatch" if suite is not None else None


# -- the regression workflow -------------------------------------------------------------------


def _dispatch(ctx: Context, job: JobRecord) -> Result:
    assert ctx.integrations.regression is not None
    ctx.integrations.regression.dispatch(str(job.data["branch"]), str(job.data["staging_sha"]))
    return {}


def _regression_result(ctx: Context, job: JobRecord) -> Result:
    assert ctx.integrations.regression is not None
    run = ctx.integrations.regression.result(str(job.data["branch"]), str(job.data["staging_sha"]))
    return {"conclusion": run.conclusion, "run_url": run.url, "run_passed": run.passed}


def _regression_recorded(uow: UnitOfWork, ctx: Context, job: JobRecord, result: Result) -> None:
    release = release_of(uow, job)
    tested = Deployment(
        str(job.data["deployment_id"]), str(job.data["url"]), str(job.data["staging_sha"])
    )
    if release.staging_deployment_id != tested.id or release.state is not State.STAGING:
        # QA recorded a run by hand meanwhile, or a newer build is on staging: theirs stands.
        uow.record_artefact(
            release.id,
            "regression_report",
            by=BOT,
            outcome="pass" if result["run_passed"] else "fail",
            url=str(result["run_url"]),
            details={"staging_deployment_id": tested.id, "superseded": True},
        )
        ctx.conversation.announce(
            f"The regression workflow on `{release.branch}` finished ({result['conclusion']}, "
            f"<{escape(str(result['run_url']))}|run>); *{release.version}* is "
            f"`{release.state}` by then, so the result already recorded stands."
        )
        return
    record_regression(
        uow,
        ctx,
        release,
        passed=bool(result["run_passed"]),
        report_url=str(result["run_url"]),
        tested=tested,
        actor=BOT,
    )


def _staging_failed(
    uow: UnitOfWork, ctx: Context, job: JobRecord, what: str, _definite: bool
) -> None:
    release = release_of(uow, job)
    uow.audit(BOT, AuditAction.STAGING_FAILED, release.id, error=what, step=job.step)
    if job.step in ("dispatch", "regression"):
        ctx.conversation.announce(
            f":warning: The regression workflow could not report on *{release.version}*: "
            f"{escape(what)}. QA: run the suite and record it with `/release regression "
            f"{release.version} pass|fail <report-url>`."
        )
        return
    if release.state is not State.PLANNED:
        return
    again = "hotfix" if release.kind == "hotfix" else "start"
    ctx.conversation.announce(
        f":x: *{release.version}* could not reach staging: {escape(what)}. It stays `planned` "
        "and its "
        f"version is kept: once the cause is fixed, `/release {again} {release.version}` "
        f"retries from where it stopped, or `/release cancel {release.version} <reason>` "
        "drops it."
    )


STAGE = Procedure(
    kind="stage",
    first="branch",
    steps={
        "branch": Step(_branch, _branched),
        "bump": Step(_bump, lambda uow, ctx, job, r: "deploy"),
        # A Vercel build takes minutes; a long queue more.
        "deploy": Step(_staging_build, _on_staging, wait_limit=timedelta(minutes=45)),
        "dispatch": Step(_dispatch, lambda uow, ctx, job, r: "regression"),
        # The full suite (E2E, accessibility, performance smoke) is slow.
        "regression": Step(_regression_result, _regression_recorded, wait_limit=timedelta(hours=3)),
    },
    failed=_staging_failed,
)
