"""Who may do what: one table, and refusals that say who may and how to get the role."""

from __future__ import annotations

import pytest

from release.permissions import (
    ANYONE,
    PERMISSIONS,
    Action,
    may_tick,
    permitted,
    refusal,
    tick_refusal,
)
from release.refusal import Refusal
from release.roles import HOTFIX_ROLES, READINESS_ROLES, Role

RM, TL, QA, CS, SEC, REL, ADMIN = (
    Role.RELEASE_MANAGER,
    Role.TECH_LEAD,
    Role.QA,
    Role.CLIENT_SUCCESS,
    Role.SECURITY,
    Role.RELIABILITY,
    Role.ADMIN,
)

#: The whole table, written out so a change to the policy shows up as a change here.
EXPECTED: dict[Action, frozenset[Role]] = {
    Action.START: frozenset({RM}),
    Action.HOTFIX: frozenset({RM}),
    Action.REGRESSION: frozenset({QA}),
    Action.OPEN_REVIEW: frozenset({RM}),
    Action.CANCEL: frozenset({RM}),
    Action.PROMOTE: frozenset({RM}),
    Action.CHECK: frozenset(),
    Action.STATUS: frozenset(),
    Action.UNLOCK: frozenset({RM}),
    Action.FORCE_UNLOCK: frozenset({RM}),
    Action.ROLLBACK: frozenset({RM}),
    Action.FLAG_CHANGE: frozenset({RM}),
    Action.FLAG_LIST: ANYONE,
    Action.INCIDENT: frozenset({RM, Role.RELIABILITY}),
    Action.METRICS: ANYONE,
    Action.AUDIT_EXPORT: frozenset({RM, Role.SECURITY, Role.RELIABILITY}),
    Action.FREEZE_SCHEDULE: frozenset({RM, REL}),
    Action.FREEZE_SCHEDULE_SHORT_NOTICE: frozenset({REL}),
    Action.FREEZE_CANCEL: frozenset({RM, REL}),
    Action.LIST_FREEZES: frozenset(),
    Action.GRANT_ROLE: frozenset({ADMIN}),
    Action.REVOKE_ROLE: frozenset({ADMIN}),
    Action.LIST_ROLES: frozenset(),
    Action.SIGN_OFF: frozenset({TL, QA, CS, SEC, REL}),
    Action.TICK_COMPLIANCE: frozenset({RM, TL, QA, CS, SEC, REL}),
    Action.HELP: frozenset(),
}


def test_the_table_is_the_policy() -> None:
    assert PERMISSIONS == EXPECTED


def test_every_action_has_a_row() -> None:
    assert set(PERMISSIONS) == set(Action)


def test_action_names_are_distinct() -> None:
    assert len(Action.__members__) == len(Action)


@pytest.mark.parametrize("action", [a for a, who in EXPECTED.items() if who == ANYONE])
def test_anyone_may_read(action: Action) -> None:
    assert permitted(action, set())
    assert refusal(action, set()) is None


@pytest.mark.parametrize(
    ("action", "role"), [(a, r) for a, who in EXPECTED.items() for r in sorted(who)]
)
def test_each_allowed_role_alone_is_enough(action: Action, role: Role) -> None:
    assert permitted(action, {role})
    assert refusal(action, {role}) is None


@pytest.mark.parametrize(
    ("action", "role"),
    [(a, r) for a, who in EXPECTED.items() if who for r in Role if r not in who],
)
def test_any_other_role_is_refused(action: Action, role: Role) -> None:
    assert not permitted(action, {role})
    assert isinstance(refusal(action, {role}), Refusal)


@pytest.mark.parametrize("action", [a for a, who in EXPECTED.items() if who])
def test_nobody_with_no_role_may_change_anything(action: Action) -> None:
    assert not permitted(action, set())


def test_an_admin_is_not_a_release_manager() -> None:
    assert not permitted(Action.PROMOTE, {ADMIN})
    assert not permitted(Action.START, {ADMIN})


def test_a_release_manager_cannot_grant_roles() -> None:
    assert not permitted(Action.GRANT_ROLE, {RM})


def test_holding_several_roles_counts_any_of_them() -> None:
    assert permitted(Action.PROMOTE, {QA, RM})
    assert permitted(Action.REGRESSION, frozenset({QA, RM}))


@pytest.mark.parametrize(
    ("action", "doing", "role"),
    [
        (Action.START, "start a release", "release_manager"),
        (Action.HOTFIX, "start a hotfix", "release_manager"),
        (Action.OPEN_REVIEW, "open a review", "release_manager"),
        (Action.CANCEL, "cancel a release", "release_manager"),
        (Action.PROMOTE, "promote a release", "release_manager"),
        (Action.UNLOCK, "clear the deploy lock", "release_manager"),
        (Action.FORCE_UNLOCK, "force-clear the deploy lock", "release_manager"),
        (Action.ROLLBACK, "roll back production", "release_manager"),
        (Action.FLAG_CHANGE, "add, launch or remove a feature flag", "release_manager"),
    ],
)
def test_a_release_manager_refusal_says_how_to_get_the_role(
    action: Action, doing: str, role: str
) -> None:
    assert refusal(action, {QA}) == Refusal(
        f"Only a Release Manager may {doing}, and you do not hold that role. "
        f"An admin can grant it with `/release role add @you {role}`. Nothing was changed."
    )


def test_the_regression_refusal_names_qa() -> None:
    assert refusal(Action.REGRESSION, {RM}) == Refusal(
        "Only a QA may record regression results, and you do not hold that role. "
        "An admin can grant it with `/release role add @you qa`. Nothing was changed."
    )


@pytest.mark.parametrize(
    ("action", "doing"), [(Action.GRANT_ROLE, "grant"), (Action.REVOKE_ROLE, "revoke")]
)
def test_the_role_refusals_take_an_an(action: Action, doing: str) -> None:
    assert refusal(action, {RM}) == Refusal(
        f"Only an Admin may {doing} roles, and you do not hold that role. "
        "An admin can grant it with `/release role add @you admin`. Nothing was changed."
    )


@pytest.mark.parametrize(
    ("action", "doing"),
    [(Action.FREEZE_SCHEDULE, "schedule a freeze"), (Action.FREEZE_CANCEL, "cancel a freeze")],
)
def test_a_freeze_refusal_names_both_roles(action: Action, doing: str) -> None:
    assert refusal(action, {QA}) == Refusal(
        f"Only a Release Manager or a Reliability Partner may {doing}. Nothing was changed."
    )


def test_a_short_notice_freeze_is_a_reliability_partners_alone() -> None:
    assert permitted(Action.FREEZE_SCHEDULE, {RM})
    assert not permitted(Action.FREEZE_SCHEDULE_SHORT_NOTICE, {RM})
    assert permitted(Action.FREEZE_SCHEDULE_SHORT_NOTICE, {REL})


def test_a_sign_off_refusal_lists_every_reviewer_role() -> None:
    assert refusal(Action.SIGN_OFF, {RM}) == Refusal(
        "Only a Technical Lead, a QA, a Client Success Lead, a Security or a Reliability "
        "Partner may sign off a review. Nothing was changed."
    )


TICK_REFUSAL = Refusal(
    "Only a reviewer or a release manager may tick compliance items; the checklist was not changed."
)


@pytest.mark.parametrize("role", [RM, *READINESS_ROLES])
def test_a_readiness_reviewer_or_release_manager_may_tick(role: Role) -> None:
    assert may_tick(READINESS_ROLES, {role})
    assert tick_refusal(READINESS_ROLES, {role}) is None


@pytest.mark.parametrize("role", [REL, ADMIN])
def test_nobody_else_may_tick_a_readiness_review(role: Role) -> None:
    assert not may_tick(READINESS_ROLES, {role})
    assert tick_refusal(READINESS_ROLES, {role}) == TICK_REFUSAL


def test_the_review_decides_who_its_reviewers_are() -> None:
    assert may_tick(HOTFIX_ROLES, {REL})
    assert not may_tick(HOTFIX_ROLES, {SEC})
    assert may_tick(HOTFIX_ROLES, {RM})


def test_the_tick_refusal_keeps_its_own_words() -> None:
    assert refusal(Action.TICK_COMPLIANCE, {ADMIN}) == TICK_REFUSAL
    assert refusal(Action.TICK_COMPLIANCE, {SEC}) is None
