"""`/release incident open|resolve`: a production failure, tied to the release that caused it.

A rollback of that release, or a hotfix of it, started while the incident is open answers
it; the metrics measure the time to restore from the incident's opening.
"""

from __future__ import annotations

from commands.context import Context
from commands.parser import IncidentOpen, IncidentResolve
from commands.text import escape
from release.audit import AuditAction
from release.lifecycle import State
from release.permissions import Action

#: A release that never reached production cannot have caused a production failure.
REACHED_PRODUCTION = (State.VERIFYING, State.RELEASED, State.FAILED, State.ROLLED_BACK)


def open_incident(ctx: Context, command: IncidentOpen) -> None:
    version = str(command.version)
    with ctx.transaction() as uow:
        if ctx.refused(uow, Action.INCIDENT):
            return
        release = uow.release(version)
        if release is None:
            ctx.conversation.reply(f"There is no release {version}. Nothing was recorded.")
            return
        if release.state not in REACHED_PRODUCTION:
            ctx.conversation.reply(
                f"{version} is `{release.state}`: it never reached production, so it cannot "
                "have caused a production incident. Nothing was recorded."
            )
            return
        incident = uow.open_incident(release.id, command.summary, by=ctx.actor)
        uow.audit(
            ctx.actor,
            AuditAction.INCIDENT_OPENED,
            release.id,
            incident=incident.id,
            summary=command.summary,
        )
        ctx.conversation.announce(
            f":rotating_light: <@{ctx.actor}> opened incident #{incident.id} against "
            f"*{version}*: {escape(command.summary)}\nA rollback (`/release rollback`) or a "
            f"hotfix answers it; `/release incident resolve {incident.id}` says service is "
            "restored."
        )


def resolve_incident(ctx: Context, command: IncidentResolve) -> None:
    with ctx.transaction() as uow:
        if ctx.refused(uow, Action.INCIDENT):
            return
        incident = uow.incident(command.incident_id, lock=True)
        if incident is None:
            ctx.conversation.reply(f"There is no incident #{command.incident_id}.")
            return
        if not incident.is_open:
            ctx.conversation.reply(
                f"Incident #{incident.id} was resolved already. Nothing was changed."
            )
            return
        resolved = uow.resolve_incident(incident.id, by=ctx.actor)
        release = uow.release_by_id(incident.release_id)
        assert resolved.resolved_at is not None and release is not None
        minutes = round((resolved.resolved_at - incident.opened_at).total_seconds() / 60)
        uow.audit(
            ctx.actor,
            AuditAction.INCIDENT_RESOLVED,
            incident.release_id,
            incident=incident.id,
            minutes=minutes,
        )
        ctx.conversation.announce(
            f":white_check_mark: <@{ctx.actor}> resolved incident #{incident.id} "
            f"(*{release.version}*: {escape(incident.summary)}) after {_duration(minutes)}."
        )


def _duration(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
