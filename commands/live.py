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
    counts, so nothing older can be promoted over it, whatever the interleaving.
    """
    facts = []
    deployments = uow.deployments("production")
    # Only releases production may have served (the history grows, the answer does not),
    # read after the deployments: one that another instance began meanwhile is among them
    # (neither deployments nor releases are ever deleted).
    releases = {r.id: r for r in uow.releases(ever_in_production=True)}
    for deployment in deployments:
        release = releases[deployment.release_id]
        facts.append(
            ProductionFact(release.version, release.state, ProductionDeploy(deployment.outcome))
        )
    facts += [
        ProductionFact(r.version, r.state, ProductionDeploy.SUCCEEDED)
        for r in releases.values()
        if r.production_deployment_id is not None
    ]
    return newest_serving(facts)


def fail_in_flight(uow: UnitOfWork, version: str, actor: str) -> State | None:
    """Move `version` to `failed` if it is deploying or verifying; the state it was in."""
    release = uow.release(version, lock=True)
    if release is None or release.state not in IN_FLIGHT:
        return None
    advance(uow, release, IN_FLIGHT[release.state], actor)
    return release.state
