"""What is live in production, and failing a deploy that nobody is running any more."""

from __future__ import annotations

from commands.transitions import advance
from release.lifecycle import Event, State
from release.production import ProductionDeploy, ProductionFact
from release.production import in_production as newest_serving
from storage.unit_of_work import UnitOfWork

IN_FLIGHT = {State.DEPLOYING: Event.DEPLOY_FAILED, State.VERIFYING: Event.VERIFY_FAILED}


def in_production(uow: UnitOfWork) -> str | None:
    """The newest version production may be serving (see release.production).

    Read from the deployments table: a deploy still under way or of unknown outcome
    counts, so nothing older can be promoted over it, whatever the interleaving. A release
    that records a production deployment id counts as a deploy that succeeded.
    """
    facts = [
        ProductionFact(
            version,
            State(state),
            ProductionDeploy(outcome) if outcome is not None else ProductionDeploy.SUCCEEDED,
        )
        for version, state, outcome in uow.production_facts()
    ]
    return newest_serving(facts)


def fail_in_flight(uow: UnitOfWork, version: str, actor: str) -> State | None:
    """Move `version` to `failed` if it is deploying or verifying; the state it was in."""
    release = uow.release(version, lock=True)
    if release is None or release.state not in IN_FLIGHT:
        return None
    advance(uow, release, IN_FLIGHT[release.state], actor)
    return release.state
