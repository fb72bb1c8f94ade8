"""The gates a release must pass before it is promoted to production."""

from __future__ import annotations

from dataclasses import dataclass

from release.lifecycle import State


@dataclass(frozen=True)
class Gate:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class PromotionFacts:
    version: str
    state: State
    regression_passed: bool


def promotion_gates(facts: PromotionFacts) -> list[Gate]:
    """Every gate, passed or not, in the order a release manager reads them."""
    approved = facts.state is State.APPROVED
    return [
        Gate(
            "approved",
            approved,
            "readiness review approved"
            if approved
            else f"not approved: {facts.version} is `{facts.state}`",
        ),
        Gate(
            "regression",
            facts.regression_passed,
            "staging regression passed"
            if facts.regression_passed
            else "regression not passed on staging",
        ),
    ]


def failing(gates: list[Gate]) -> list[Gate]:
    return [g for g in gates if not g.passed]
