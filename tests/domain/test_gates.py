"""The gates a regular release must pass before it is promoted to production."""

from __future__ import annotations

import pytest

from release.gates import Gate, PromotionFacts, failing, promotion_gates
from release.lifecycle import State


def gates(state: State = State.APPROVED, *, regression_passed: bool = True) -> list[Gate]:
    return promotion_gates(
        PromotionFacts(version="v1.4.0", state=state, regression_passed=regression_passed)
    )


def test_promotion_gates_lists_approval_then_regression() -> None:
    assert [g.name for g in gates()] == ["approved", "regression"]


def test_promotion_gates_lists_every_gate_even_the_passing_ones() -> None:
    assert [g.name for g in gates(State.STAGING, regression_passed=False)] == [
        "approved",
        "regression",
    ]


def test_an_approved_release_with_a_passed_regression_fails_no_gate() -> None:
    listed = gates()
    assert all(g.passed for g in listed)
    assert failing(listed) == []
    assert [g.detail for g in listed] == [
        "readiness review approved",
        "staging regression passed",
    ]


def test_promote_gate_names_every_failing_gate() -> None:
    failed = failing(gates(State.IN_REVIEW, regression_passed=False))
    assert [g.name for g in failed] == ["approved", "regression"]
    assert failed[0].detail == "not approved: v1.4.0 is `in_review`"
    assert failed[1].detail == "regression not passed on staging"


def test_only_the_approval_gate_fails_when_the_regression_passed() -> None:
    failed = failing(gates(State.IN_REVIEW, regression_passed=True))
    assert [g.name for g in failed] == ["approved"]


def test_only_the_regression_gate_fails_when_approved_without_a_passed_regression() -> None:
    failed = failing(gates(State.APPROVED, regression_passed=False))
    assert [g.name for g in failed] == ["regression"]


@pytest.mark.parametrize("state", [s for s in State if s is not State.APPROVED], ids=str)
def test_every_state_but_approved_fails_the_approval_gate_naming_the_state(
    state: State,
) -> None:
    approval = gates(state)[0]
    assert not approval.passed
    assert "v1.4.0" in approval.detail
    assert f"`{state.value}`" in approval.detail


def test_failing_keeps_the_order_gates_were_listed_in() -> None:
    listed = [Gate("a", False, ""), Gate("b", True, ""), Gate("c", False, "")]
    assert [g.name for g in failing(listed)] == ["a", "c"]
