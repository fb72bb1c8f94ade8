"""What is live in production, and failing a deploy that nobody is running any more."""

from __future__ import annotations

from commands.transitions import advance
from release.lifecycle import Event, State
from release.versions import parse_version
from storage.unit_of_work import UnitOfWork

IN_FLIGHT = {State.DEPLOYING: Event.DEPLOY_FAILED, State.VERIFYING: Event.VERIFY_FAILED}


def in_production(uow: UnitOfWork) -> str | None:
    """The newest version that reached production and was not rolled back.

    A release that failed its smoke tests is still what production runs until someone
    rolls it back, so it counts: nothing older may replace it by accident.
    """
    live = [
        (version, r.version)
        for r in uow.releases()
        if r.production_deployment_id is not None
        and r.state is not State.ROLLED_BACK
        and (version := parse_version(r.version)) is not None
    ]
    return max(live)[1] if live else None


def fail_in_flight(uow: UnitOfWork, version: str, actor: str) -> State | None:
    """Move `version` to `failed` if it is deploying or verifying; the state it was in."""
    release = uow.release(version, lock=True)
    if release is None or release.state not in IN_FLIGHT:
        return None
    advance(uow, release, IN_FLIGHT[release.state], actor)
    return release.state
