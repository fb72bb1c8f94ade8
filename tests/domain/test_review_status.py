"""A review is open until it closes once: approved, rejected, superseded, voided or cancelled."""

from __future__ import annotations

import pytest

from release.review import (
    REVIEW_TRANSITIONS,
    IllegalReviewTransition,
    ReviewStatus,
    close,
)

OPEN, APPROVED, REJECTED, SUPERSEDED, VOIDED, CANCELLED = (
    ReviewStatus.OPEN,
    ReviewStatus.APPROVED,
    ReviewStatus.REJECTED,
    ReviewStatus.SUPERSEDED,
    ReviewStatus.VOIDED,
    ReviewStatus.CANCELLED,
)

#: Every allowed move, written out so a change to the policy shows up as a change here.
ALLOWED: set[tuple[ReviewStatus, ReviewStatus]] = {
    (OPEN, APPROVED),  # the last required approval
    (OPEN, REJECTED),  # any required rejection
    (OPEN, SUPERSEDED),  # a fresh review of the release
    (OPEN, VOIDED),  # a regression run, passing or failing
    (OPEN, CANCELLED),  # the release was cancelled
    (APPROVED, VOIDED),  # a failing regression voids an approval already won
}


def test_the_statuses_are_stored_as_they_always_were() -> None:
    assert [s.value for s in ReviewStatus] == [
        "open",
        "approved",
        "rejected",
        "superseded",
        "voided",
        "cancelled",
    ]


def test_every_status_has_a_row() -> None:
    assert set(REVIEW_TRANSITIONS) == set(ReviewStatus)


def test_the_table_is_the_policy() -> None:
    assert {(a, b) for a, to in REVIEW_TRANSITIONS.items() for b in to} == ALLOWED


@pytest.mark.parametrize(("status", "to"), sorted(ALLOWED))
def test_an_allowed_move_closes_the_review(status: ReviewStatus, to: ReviewStatus) -> None:
    assert close(status, to) is to


@pytest.mark.parametrize(
    ("status", "to"),
    [(a, b) for a in ReviewStatus for b in ReviewStatus if (a, b) not in ALLOWED],
)
def test_any_other_move_is_refused(status: ReviewStatus, to: ReviewStatus) -> None:
    assert close(status, to) == IllegalReviewTransition(status, to)


@pytest.mark.parametrize("status", [REJECTED, SUPERSEDED, VOIDED, CANCELLED])
def test_a_closed_review_stays_closed(status: ReviewStatus) -> None:
    assert not REVIEW_TRANSITIONS[status]


def test_nothing_reopens_a_review() -> None:
    assert all(OPEN not in to for to in REVIEW_TRANSITIONS.values())


def test_cancelling_a_release_leaves_its_approval_on_record() -> None:
    assert isinstance(close(APPROVED, CANCELLED), IllegalReviewTransition)


def test_a_stored_string_closes_like_its_status() -> None:
    assert close(ReviewStatus("approved"), ReviewStatus("voided")) == "voided"


def test_the_refusal_says_what_the_review_is() -> None:
    assert close(REJECTED, APPROVED) == IllegalReviewTransition(REJECTED, APPROVED)
    assert IllegalReviewTransition(REJECTED, APPROVED).explain() == (
        "This review is `rejected`, so it cannot become `approved`."
    )
