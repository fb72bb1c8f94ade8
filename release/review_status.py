"""A review's status and the one table of how it may close."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum, unique

__all__ = ["REVIEW_TRANSITIONS", "IllegalReviewTransition", "ReviewStatus", "close"]


@unique
class ReviewStatus(StrEnum):
    OPEN = "open"
    APPROVED = "approved"  # every required role approved
    REJECTED = "rejected"  # one required role rejected
    SUPERSEDED = "superseded"  # a fresh review of the same release replaced it
    VOIDED = "voided"  # a regression run made it moot
    CANCELLED = "cancelled"  # its release was cancelled


REVIEW_TRANSITIONS: dict[ReviewStatus, frozenset[ReviewStatus]] = {
    ReviewStatus.OPEN: frozenset(
        {
            ReviewStatus.APPROVED,
            ReviewStatus.REJECTED,
            ReviewStatus.SUPERSEDED,
            ReviewStatus.VOIDED,
            ReviewStatus.CANCELLED,
        }
    ),
    # An approval stands until a failing regression voids it: a fixed build is approved
    # again. Cancelling the release closes only an open review; an approval stays on record.
    ReviewStatus.APPROVED: frozenset({ReviewStatus.VOIDED}),
    ReviewStatus.REJECTED: frozenset(),
    ReviewStatus.SUPERSEDED: frozenset(),
    ReviewStatus.VOIDED: frozenset(),
    ReviewStatus.CANCELLED: frozenset(),
}


@dataclass(frozen=True)
class IllegalReviewTransition:
    """A refusal: a review with this status cannot become `to`."""

    status: ReviewStatus
    to: ReviewStatus

    def explain(self) -> str:
        return f"This review is `{self.status}`, so it cannot become `{self.to}`."


def close(status: ReviewStatus, to: ReviewStatus) -> ReviewStatus | IllegalReviewTransition:
    """The status after closing a `status` review as `to`, or why it may not be."""
    if to in REVIEW_TRANSITIONS[status]:
        return to
    return IllegalReviewTransition(status, to)
