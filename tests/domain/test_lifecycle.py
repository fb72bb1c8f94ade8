"""The release lifecycle: one table of transitions decides what may happen next."""

from __future__ import annotations

from collections import deque

import pytest

from release.lifecycle import (
    FINISHED,
    TRANSITIONS,
    WAITING_FOR,
    Event,
    IllegalTransition,
    State,
    is_open,
    transition,
)

#: The whole table, written out so a change to the policy shows up as a change here.
EXPECTED_TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.PLANNED, Event.STAGED): State.STAGING,
    (State.STAGING, Event.REGRESSION_PASSED): State.IN_REVIEW,
    (State.REGRESSION_FAILED, Event.REGRESSION_PASSED): State.IN_REVIEW,
    (State.REJECTED, Event.REGRESSION_PASSED): State.IN_REVIEW,
    (State.STAGING, Event.REGRESSION_FAILED): State.REGRESSION_FAILED,
    (State.REGRESSION_FAILED, Event.REGRESSION_FAILED): State.REGRESSION_FAILED,
    (State.IN_REVIEW, Event.REGRESSION_FAILED): State.REGRESSION_FAILED,
    (State.REJECTED, Event.REGRESSION_FAILED): State.REGRESSION_FAILED,
    (State.APPROVED, Event.REGRESSION_FAILED): State.REGRESSION_FAILED,
    (State.IN_REVIEW, Event.REVIEW_OPENED): State.IN_REVIEW,
    (State.REJECTED, Event.REVIEW_OPENED): State.IN_REVIEW,
    (State.IN_REVIEW, Event.APPROVED): State.APPROVED,
    (State.IN_REVIEW, Event.REJECTED): State.REJECTED,
    (State.STAGING, Event.REJECTED): State.REJECTED,
    (State.APPROVED, Event.PROMOTED): State.DEPLOYING,
    (State.DEPLOYING, Event.DEPLOYED): State.VERIFYING,
    (State.DEPLOYING, Event.DEPLOY_FAILED): State.FAILED,
    (State.VERIFYING, Event.VERIFIED): State.RELEASED,
    (State.VERIFYING, Event.VERIFY_FAILED): State.FAILED,
    (State.FAILED, Event.ROLLED_BACK): State.ROLLED_BACK,
    (State.RELEASED, Event.ROLLED_BACK): State.ROLLED_BACK,
    (State.PLANNED, Event.CANCELLED): State.CANCELLED,
    (State.STAGING, Event.CANCELLED): State.CANCELLED,
    (State.REGRESSION_FAILED, Event.CANCELLED): State.CANCELLED,
    (State.IN_REVIEW, Event.CANCELLED): State.CANCELLED,
    (State.REJECTED, Event.CANCELLED): State.CANCELLED,
    (State.APPROVED, Event.CANCELLED): State.CANCELLED,
}

BEFORE_DEPLOYING = (
    State.PLANNED,
    State.STAGING,
    State.REGRESSION_FAILED,
    State.IN_REVIEW,
    State.REJECTED,
    State.APPROVED,
)
FROM_DEPLOYING_ON = (
    State.DEPLOYING,
    State.VERIFYING,
    State.RELEASED,
    State.FAILED,
    State.ROLLED_BACK,
)

ALL_PAIRS = [(s, e) for s in State for e in Event]


def _reachable_from(start: State) -> set[State]:
    seen = {start}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        for (state, _event), after in TRANSITIONS.items():
            if state is here and after not in seen:
                seen.add(after)
                queue.append(after)
    return seen


def test_the_transition_table_is_exactly_the_policy() -> None:
    assert TRANSITIONS == EXPECTED_TRANSITIONS


@pytest.mark.parametrize(("state", "event"), ALL_PAIRS, ids=lambda x: str(x))
def test_transition_follows_the_table_and_refuses_everything_else(
    state: State, event: Event
) -> None:
    result = transition(state, event)
    if (state, event) in EXPECTED_TRANSITIONS:
        assert result is EXPECTED_TRANSITIONS[(state, event)]
    else:
        assert result == IllegalTransition(state, event)


def test_every_state_is_reachable_from_planned() -> None:
    assert _reachable_from(State.PLANNED) == set(State)


@pytest.mark.parametrize("state", BEFORE_DEPLOYING, ids=str)
def test_a_release_can_be_cancelled_any_time_before_it_deploys(state: State) -> None:
    assert transition(state, Event.CANCELLED) is State.CANCELLED


@pytest.mark.parametrize("state", FROM_DEPLOYING_ON, ids=str)
def test_a_release_cannot_be_cancelled_once_it_is_deploying_or_later(state: State) -> None:
    assert isinstance(transition(state, Event.CANCELLED), IllegalTransition)


def test_cancelled_cannot_be_cancelled_again() -> None:
    assert isinstance(transition(State.CANCELLED, Event.CANCELLED), IllegalTransition)


def test_the_before_and_after_deploying_lists_cover_every_unfinished_state() -> None:
    assert set(BEFORE_DEPLOYING) | set(FROM_DEPLOYING_ON) | {State.CANCELLED} == set(State)


@pytest.mark.parametrize("state", sorted(FINISHED), ids=str)
def test_a_finished_release_goes_nowhere_but_back_out_of_production(state: State) -> None:
    allowed = [(State.RELEASED, Event.ROLLED_BACK)] if state is State.RELEASED else []
    assert [key for key in TRANSITIONS if key[0] is state] == allowed
    assert not is_open(state)


def test_released_rolled_back_and_cancelled_are_the_finished_states() -> None:
    assert {State.RELEASED, State.ROLLED_BACK, State.CANCELLED} == FINISHED


@pytest.mark.parametrize("state", [s for s in State if s not in FINISHED], ids=str)
def test_an_unfinished_release_is_open_and_has_a_way_on(state: State) -> None:
    assert is_open(state)
    assert any(key[0] is state for key in TRANSITIONS)


def test_a_failed_release_can_only_be_rolled_back() -> None:
    assert [e for (s, e) in TRANSITIONS if s is State.FAILED] == [Event.ROLLED_BACK]


def test_promotion_is_only_from_approved() -> None:
    assert [s for (s, e) in TRANSITIONS if e is Event.PROMOTED] == [State.APPROVED]


def test_a_failing_regression_voids_an_approval() -> None:
    assert transition(State.APPROVED, Event.REGRESSION_FAILED) is State.REGRESSION_FAILED


@pytest.mark.parametrize(
    ("before", "event", "after"),
    [
        (State.PLANNED, Event.STAGED, State.STAGING),
        (State.STAGING, Event.REGRESSION_PASSED, State.IN_REVIEW),
        (State.IN_REVIEW, Event.APPROVED, State.APPROVED),
        (State.APPROVED, Event.PROMOTED, State.DEPLOYING),
        (State.DEPLOYING, Event.DEPLOYED, State.VERIFYING),
        (State.VERIFYING, Event.VERIFIED, State.RELEASED),
    ],
    ids=lambda x: str(x),
)
def test_happy_path_step(before: State, event: Event, after: State) -> None:
    assert transition(before, event) is after


def test_the_happy_path_runs_from_planned_to_released() -> None:
    state = State.PLANNED
    visited = [state]
    for event in (
        Event.STAGED,
        Event.REGRESSION_PASSED,
        Event.APPROVED,
        Event.PROMOTED,
        Event.DEPLOYED,
        Event.VERIFIED,
    ):
        result = transition(state, event)
        assert isinstance(result, State), result
        state = result
        visited.append(state)
    assert visited == [
        State.PLANNED,
        State.STAGING,
        State.IN_REVIEW,
        State.APPROVED,
        State.DEPLOYING,
        State.VERIFYING,
        State.RELEASED,
    ]


def test_every_state_says_what_it_is_waiting_for() -> None:
    assert set(WAITING_FOR) == set(State)
    assert all(text.strip() for text in WAITING_FOR.values())


def test_a_refusal_names_the_version_the_state_and_what_it_waits_for() -> None:
    refusal = transition(State.STAGING, Event.PROMOTED)
    assert isinstance(refusal, IllegalTransition)
    text = refusal.explain("v1.4.0", "be promoted")
    assert "v1.4.0" in text
    assert "`staging`" in text
    assert "cannot be promoted now" in text
    assert "QA to record the staging regression" in text
    assert "/release regression v1.4.0 pass|fail" in text


def test_a_refusal_fills_the_version_into_the_command_it_suggests() -> None:
    refusal = transition(State.APPROVED, Event.APPROVED)
    assert isinstance(refusal, IllegalTransition)
    text = refusal.explain("v2.0.0", "be approved")
    assert "`approved`" in text
    assert "/release promote v2.0.0" in text
    assert "<version>" not in text


@pytest.mark.parametrize("state", list(State), ids=str)
def test_every_refusal_reads_as_a_sentence_about_the_state(state: State) -> None:
    text = IllegalTransition(state, Event.PROMOTED).explain("v1.4.0", "be promoted")
    assert text.startswith(f"v1.4.0 is `{state.value}`, so it cannot be promoted now.")
    assert "<version>" not in text
    assert text.endswith(".")
