"""The gates a release must pass before it is promoted to production."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from release.freezes import Freeze
from release.lifecycle import State
from release.versions import is_newer
from release.windows import ReleaseWindow


@dataclass(frozen=True)
class Gate:
    name: str
    passed: bool
    detail: str
    bypassed: bool = False  # passed only because a hotfix may skip it: announce it


@dataclass(frozen=True)
class PromotionFacts:
    version: str
    state: State
    regression_passed: bool
    hotfix: bool = False
    window: ReleaseWindow | None = None  # the window open now, if any
    next_window: ReleaseWindow | None = None
    freeze: Freeze | None = None  # the freeze covering now, if any
    deploy_in_flight: str | None = None  # who holds the production deploy lock, if anyone
    in_production: str | None = None  # the newest version released to production


_FINISHED_OR_IN_FLIGHT = frozenset(
    {
        State.DEPLOYING,
        State.VERIFYING,
        State.RELEASED,
        State.FAILED,
        State.ROLLED_BACK,
        State.CANCELLED,
    }
)


def promotion_gates(facts: PromotionFacts, when: Callable[[datetime], str]) -> list[Gate]:
    """Every gate, passed or not, in the order a release manager reads them.

    `when` formats an instant for the reader (the domain does not know about Slack).
    """
    return [
        _approved(facts),
        _regression(facts),
        _newer_than_production(facts),
        _window(facts, when),
        _freeze(facts, when),
        _one_deploy_at_a_time(facts),
    ]


def _approved(facts: PromotionFacts) -> Gate:
    what = (
        "hotfix approved by Reliability Partner and Client Success Lead"
        if facts.hotfix
        else ("readiness review approved")
    )
    if facts.state is State.APPROVED:
        return Gate("approved", True, what)
    if facts.state in _FINISHED_OR_IN_FLIGHT:
        return Gate(
            "approved",
            False,
            f"not approved: {facts.version} is `{facts.state}` and cannot be promoted again",
        )
    need = (
        "both hotfix approvals and a passing staging regression"
        if facts.hotfix
        else "all four readiness sign-offs"
    )
    return Gate(
        "approved",
        False,
        f"not approved: {facts.version} is `{facts.state}` and needs {need}",
    )


def _regression(facts: PromotionFacts) -> Gate:
    if facts.regression_passed:
        return Gate("regression", True, "staging regression passed")
    return Gate(
        "regression",
        False,
        f"regression not passed on staging: QA records it with "
        f"`/release regression {facts.version} pass <report-url>`",
    )


def _newer_than_production(facts: PromotionFacts) -> Gate:
    if is_newer(facts.version, facts.in_production):
        return Gate("newer", True, "newer than what is in production")
    return Gate(
        "newer",
        False,
        f"{facts.in_production} is in production, and {facts.version} is not newer: promoting "
        "it would take production backwards; start a newer version instead",
    )


def _window(facts: PromotionFacts, when: Callable[[datetime], str]) -> Gate:
    if facts.window is not None:
        return Gate(
            "window", True, f"inside the release window (until {when(facts.window.closes)})"
        )
    upcoming = (
        f"the next window opens {when(facts.next_window.opens)}"
        if facts.next_window
        else "no window is configured"
    )
    if facts.hotfix:
        return Gate(
            "window", True, f"outside the release window, allowed for a hotfix ({upcoming})", True
        )
    return Gate("window", False, f"outside the release window: {upcoming}")


def _freeze(facts: PromotionFacts, when: Callable[[datetime], str]) -> Gate:
    freeze = facts.freeze
    if freeze is None:
        return Gate("freeze", True, "no freeze in force")
    what = f"freeze #{freeze.id} ({freeze.reason}) until {when(freeze.ends)}"
    if facts.hotfix:
        return Gate("freeze", True, f"{what}, allowed for a hotfix", True)
    return Gate("freeze", False, what)


def _one_deploy_at_a_time(facts: PromotionFacts) -> Gate:
    if facts.deploy_in_flight is None:
        return Gate("deploy_lock", True, "no other production deploy in flight")
    return Gate(
        "deploy_lock",
        False,
        f"another production deploy is in flight ({facts.deploy_in_flight}); wait for it, "
        "or a release manager clears a stuck lock with `/release unlock <reason>`",
    )


def failing(gates: list[Gate]) -> list[Gate]:
    return [g for g in gates if not g.passed]


def bypassed(gates: list[Gate]) -> list[Gate]:
    return [g for g in gates if g.bypassed]
