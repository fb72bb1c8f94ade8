"""The release lifecycle: one table of allowed transitions, nothing else decides."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    PLANNED = "planned"
    STAGING = "staging"
    REGRESSION_FAILED = "regression_failed"
    IN_REVIEW = "in_review"
    REJECTED = "rejected"
    APPROVED = "approved"
    DEPLOYING = "deploying"
    VERIFYING = "verifying"
    RELEASED = "released"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    CANCELLED = "cancelled"


class Event(StrEnum):
    STAGED = "staged"  # the release branch is deployed to staging
    REGRESSION_PASSED = "regression_passed"
    REGRESSION_FAILED = "regression_failed"
    REVIEW_OPENED = "review_opened"  # a fresh readiness review
    APPROVED = "approved"  # every required role signed off
    REJECTED = "rejected"
    PROMOTED = "promoted"  # production deploy started
    DEPLOYED = "deployed"
    DEPLOY_FAILED = "deploy_failed"
    VERIFIED = "verified"  # post-deploy smoke tests passed
    VERIFY_FAILED = "verify_failed"
    ROLLED_BACK = "rolled_back"
    CANCELLED = "cancelled"


#: Before production was touched: a release may still be cancelled (or superseded).
BEFORE_DEPLOYING = (
    State.PLANNED,
    State.STAGING,
    State.REGRESSION_FAILED,
    State.IN_REVIEW,
    State.REJECTED,
    State.APPROVED,
)

TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.PLANNED, Event.STAGED): State.STAGING,
    # A passing regression opens the readiness review; after a failure or a rejection
    # it is the re-run after a fix that moves the release on.
    (State.STAGING, Event.REGRESSION_PASSED): State.IN_REVIEW,
    (State.REGRESSION_FAILED, Event.REGRESSION_PASSED): State.IN_REVIEW,
    (State.REJECTED, Event.REGRESSION_PASSED): State.IN_REVIEW,
    # A failing regression voids whatever review was open or won.
    (State.STAGING, Event.REGRESSION_FAILED): State.REGRESSION_FAILED,
    (State.REGRESSION_FAILED, Event.REGRESSION_FAILED): State.REGRESSION_FAILED,
    (State.IN_REVIEW, Event.REGRESSION_FAILED): State.REGRESSION_FAILED,
    (State.REJECTED, Event.REGRESSION_FAILED): State.REGRESSION_FAILED,
    (State.APPROVED, Event.REGRESSION_FAILED): State.REGRESSION_FAILED,
    (State.IN_REVIEW, Event.REVIEW_OPENED): State.IN_REVIEW,
    (State.REJECTED, Event.REVIEW_OPENED): State.IN_REVIEW,
    (State.IN_REVIEW, Event.APPROVED): State.APPROVED,
    (State.IN_REVIEW, Event.REJECTED): State.REJECTED,
    # A hotfix's approval message is open from the start, so it can be rejected on staging.
    (State.STAGING, Event.REJECTED): State.REJECTED,
    (State.APPROVED, Event.PROMOTED): State.DEPLOYING,
    (State.DEPLOYING, Event.DEPLOYED): State.VERIFYING,
    (State.DEPLOYING, Event.DEPLOY_FAILED): State.FAILED,
    (State.VERIFYING, Event.VERIFIED): State.RELEASED,
    (State.VERIFYING, Event.VERIFY_FAILED): State.FAILED,
    # Production goes back to what served before: after a failure, or a regret.
    (State.FAILED, Event.ROLLED_BACK): State.ROLLED_BACK,
    (State.RELEASED, Event.ROLLED_BACK): State.ROLLED_BACK,
    **{(state, Event.CANCELLED): State.CANCELLED for state in BEFORE_DEPLOYING},
}

#: What a release in each state is waiting for, in the words a user needs.
WAITING_FOR: dict[State, str] = {
    State.PLANNED: "its staging deploy",
    State.STAGING: (
        "QA to record the staging regression "
        "(`/release regression <version> pass|fail <report-url>`)"
    ),
    State.REGRESSION_FAILED: "a fix and a passing regression re-run on staging",
    State.IN_REVIEW: "the readiness review sign-offs",
    State.REJECTED: (
        "a fix, then a passing regression re-run or a fresh review (`/release review <version>`)"
    ),
    State.APPROVED: "a release manager to promote it (`/release promote <version>`)",
    State.DEPLOYING: "its production deploy to finish",
    State.VERIFYING: "its post-deploy smoke tests",
    State.RELEASED: "nothing: it is in production",
    State.FAILED: "a rollback",
    State.ROLLED_BACK: "nothing: it was rolled back",
    State.CANCELLED: "nothing: it was cancelled",
}

FINISHED: frozenset[State] = frozenset({State.RELEASED, State.ROLLED_BACK, State.CANCELLED})


@dataclass(frozen=True)
class IllegalTransition:
    """A refusal: this event cannot happen to a release in this state."""

    state: State
    event: Event

    def explain(self, version: str, doing: str) -> str:
        waiting = WAITING_FOR[self.state].replace("<version>", version)
        return (
            f"{version} is `{self.state}`, so it cannot {doing} now. It is waiting for {waiting}."
        )


def transition(state: State, event: Event) -> State | IllegalTransition:
    """The state after `event`, or the refusal if the table does not allow it."""
    return TRANSITIONS.get((state, event), IllegalTransition(state, event))


def is_open(state: State) -> bool:
    return state not in FINISHED
