"""`/release rollback [version]`: production goes back to the deployment that came before.

Like a promotion, the rollback takes the production deploy lock in the transaction that
decides it and runs as a durable job: ask Vercel to restore the earlier deployment, follow
it until production serves it, then mark the release `rolled_back`. Any instance resumes
it after a crash, and asking again what production serves keeps it from happening twice.
"""

from __future__ import annotations

from datetime import timedelta

from commands.context import Context
from commands.deploy import BOT, PROMOTE
from commands.jobs import Procedure, Result, Step, begin, release_of
from commands.live import in_production
from commands.parser import Rollback
from commands.production import announce_reaped, reap_expired_lock
from commands.staging import record_on_github
from commands.text import escape
from commands.transitions import advance
from integrations.ports import Deployment
from release.audit import AuditAction
from release.lifecycle import Event, IllegalTransition, transition
from release.permissions import Action
from release.production import ProductionDeploy
from release.records import ReleaseRecord
from storage.jobs import JobRecord, lock_holder
from storage.unit_of_work import UnitOfWork


def rollback(ctx: Context, command: Rollback) -> None:
    with ctx.transaction() as uow:
        if ctx.refused(uow, Action.ROLLBACK):
            return
        uow.deploy_lock(lock=True)  # lock order everywhere: the lock row, then release rows
        reaped = reap_expired_lock(uow, ctx)
        if reaped is not None:
            announce_reaped(ctx, reaped)
        held = uow.deploy_lock(lock=True)
        if held is not None:
            ctx.conversation.reply(
                f"A production deploy of {held.version} holds the deploy lock, so nothing was "
                "rolled back: two deploys must never overlap. Wait for it to finish or fail, "
                "then roll back."
            )
            return
        version = str(command.version) if command.version else in_production(uow)
        release = uow.release(version, lock=True) if version else None
        if release is None:
            ctx.conversation.reply(
                f"There is no release {command.version}."
                if command.version
                else "No release the bot promoted is in production, so there is nothing to "
                "roll back."
            )
            return
        live = in_production(uow)
        if release.version != live:
            ctx.conversation.reply(
                f"{release.version} is not what production serves"
                + (f" ({live} is)" if live else "")
                + ": a rollback restores the deployment before the live release only, so "
                "production never skips back past a release. Nothing was changed."
            )
            return
        illegal = transition(release.state, Event.ROLLED_BACK)
        if isinstance(illegal, IllegalTransition):
            ctx.conversation.reply(
                f"{release.version} is `{release.state}`: only a release that reached production "
                "(`released`) or failed there (`failed`) can be rolled back. Nothing was changed."
            )
            return
        restore = _deployment_before(uow, release)
        if restore is None:
            ctx.conversation.reply(
                f"The bot has no record of what production served before {release.version}, "
                "so there is nothing to restore: roll back in Vercel by hand. Nothing was changed."
            )
            return
        restored = _release_serving(uow, restore)
        job_id = begin(
            uow,
            ROLLBACK,
            release.id,
            ctx.actor,
            restore_id=restore,
            restored_version=restored.version if restored else None,
            restored_sha=restored.staging_sha if restored else None,
        )
        taken = uow.acquire_deploy_lock(
            lock_holder(job_id), release.version, ctx.actor, ctx.policy.deploy_lock_lease
        )
        assert taken.acquired  # the lock row is held and was free
        answers = uow.open_incidents(release.id)
        if restored is not None:
            row = uow.start_deployment(
                restored.id, "production", replaced=release.production_deployment_id, job_id=job_id
            )
            uow.link_rollback(row, answers=answers[-1].id if answers else None)
            uow.merge_job_data(job_id, deployment_row=row)
        uow.audit(
            ctx.actor,
            AuditAction.COMMAND_ROLLBACK,
            release.id,
            restore=restore,
            restored_version=restored.version if restored else None,
        )
        what = f"*{restored.version}* (`{restore}`)" if restored else f"`{restore}`"
        answering = f" It answers incident #{answers[-1].id}." if answers else ""
        ctx.conversation.announce(
            f":rewind: <@{ctx.actor}> is rolling back *{release.version}*: production goes back "
            f"to {what}.{answering}"
        )


def _deployment_before(uow: UnitOfWork, release: ReleaseRecord) -> str | None:
    """What production served before `release` was promoted, as recorded at its promotion
    (not at a rollback that restored it: that one replaced a later release)."""
    promotions = {j.id for j in uow.jobs_of(release.id) if j.kind == PROMOTE.kind}
    rows = [
        d
        for d in uow.deployments("production")
        if d.release_id == release.id and d.replaced and d.job_id in promotions
    ]
    return rows[-1].replaced if rows else None


def _release_serving(uow: UnitOfWork, deployment_id: str) -> ReleaseRecord | None:
    found = [r for r in uow.releases() if r.production_deployment_id == deployment_id]
    return found[-1] if found else None


def _target(job: JobRecord) -> Deployment:
    return Deployment(str(job.data["restore_id"]), "", str(job.data.get("restored_sha") or ""))


def _request(ctx: Context, job: JobRecord) -> Result:
    ctx.integrations.deployer.rollback(_target(job))
    return {}


def _restored(ctx: Context, job: JobRecord) -> Result:
    target = _target(job)
    production = ctx.integrations.deployer.await_production(target)
    result: Result = {"production_url": production.url}
    if target.sha:
        result |= record_on_github(
            ctx, "production", target.sha, "success", production.url, "rollback"
        )
    return result


def _rolled_back(uow: UnitOfWork, ctx: Context, job: JobRecord, result: Result) -> None:
    uow.deploy_lock(lock=True)  # lock order everywhere: the lock row, then release rows
    release = release_of(uow, job)
    if job.data.get("deployment_row") is not None:
        uow.finish_deployment(
            int(job.data["deployment_row"]),
            ProductionDeploy.SUCCEEDED,
            deployment_id=str(job.data["restore_id"]),
            url=str(result["production_url"]),
        )
    uow.release_deploy_lock(job.holder)
    advance(uow, release, Event.ROLLED_BACK, job.actor)
    restored = job.data.get("restored_version")
    serving = f"*{restored}* again" if restored else f"`{job.data['restore_id']}`"
    ctx.conversation.announce(
        f":rewind: *{release.version}* is rolled back: production serves {serving} "
        f"({result['production_url']}).{ctx.integrations.note} Fix forward with a new "
        "release or a hotfix."
    )


def _rollback_failed(
    uow: UnitOfWork, ctx: Context, job: JobRecord, what: str, definite: bool
) -> None:
    uow.deploy_lock(lock=True)
    release = release_of(uow, job)
    uow.release_deploy_lock(job.holder)
    if job.data.get("deployment_row") is not None:
        outcome = ProductionDeploy.FAILED if definite else ProductionDeploy.UNKNOWN
        uow.finish_deployment(int(job.data["deployment_row"]), outcome)
    uow.audit(BOT, AuditAction.ROLLBACK_FAILED, release.id, detail=what)
    ctx.conversation.announce(
        f":rotating_light: The rollback of *{release.version}* failed: {escape(what)}. It stays "
        f"`{release.state}`. Check what production serves in Vercel before anything else; "
        f"`/release rollback {release.version}` tries again."
    )


ROLLBACK = Procedure(
    kind="rollback",
    first="rollback",
    steps={
        "rollback": Step(_request, lambda uow, ctx, job, r: "restored"),
        "restored": Step(_restored, _rolled_back, wait_limit=timedelta(minutes=15)),
    },
    failed=_rollback_failed,
    holds_deploy_lock=True,
)
