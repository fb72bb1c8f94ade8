"""What is in production, decided from facts about each release's production deploy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum, unique

from release.lifecycle import State
from release.versions import Version, parse_version

__all__ = ["MAY_BE_SERVING", "ProductionDeploy", "ProductionFact", "in_production"]


@unique
class ProductionDeploy(StrEnum):
    """How a release's production deploy went, as far as anyone knows."""

    NOT_STARTED = "not_started"  # never promoted
    PENDING = "pending"  # started, no outcome yet
    UNKNOWN = "unknown"  # started, and its outcome was never learned (a timeout, a crash)
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the deployer said it did not deploy


#: Deploys that may be serving traffic now. Pending and unknown count: a deploy whose outcome
#: is not known may be live, and production must never go backwards, so nothing older may
#: be started or promoted (and no hotfix numbered) as if it were not.
MAY_BE_SERVING: frozenset[ProductionDeploy] = frozenset(
    {ProductionDeploy.PENDING, ProductionDeploy.UNKNOWN, ProductionDeploy.SUCCEEDED}
)


@dataclass(frozen=True)
class ProductionFact:
    version: str
    state: State
    deploy: ProductionDeploy


def in_production(deployments: Iterable[ProductionFact]) -> str | None:
    """The newest version that is, or may be, serving production; None if none is.

    A release counts when its production deploy succeeded or its outcome is pending or
    unknown, unless it was rolled back. One that failed its smoke tests still counts: it is
    what production runs until someone rolls it back. Newest is by version, not by time.
    """
    live: list[tuple[Version, str]] = [
        (version, fact.version)
        for fact in deployments
        if fact.deploy in MAY_BE_SERVING
        and fact.state is not State.ROLLED_BACK
        and (version := parse_version(fact.version)) is not None
    ]
    return max(live)[1] if live else None
