"""Sign-off rules of the readiness review: who may sign what, and when."""

from __future__ import annotations

import pytest

from release.review import Decision, Refusal, Review, SignOff, sign, signable_roles
from release.roles import HOTFIX_ROLES, READINESS_ROLES, Role

ALICE, BOB, CAROL, DAVE, ERIN = "UALICE", "UBOB", "UCAROL", "UDAVE", "UERIN"

COMPLIANCE = (
    "privacy policy reference checked with Legal",
    "HighLevel.Final current",
    "context JSON current",
)


def review(**overrides: object) -> Review:
    fields: dict[str, object] = {"version": "v1.4.0", "required_roles": READINESS_ROLES}
    fields.update(overrides)
    return Review(**fields)  # type: ignore[arg-type]


def approve(role: Role, user: str) -> SignOff:
    return SignOff(role, user, Decision.APPROVE)


def three_of_four_approved(**overrides: object) -> Review:
    """Tech lead, QA and client success approved; security still to sign."""
    return review(
        sign_offs=(
            approve(Role.TECH_LEAD, ALICE),
            approve(Role.QA, BOB),
            approve(Role.CLIENT_SUCCESS, CAROL),
        ),
        **overrides,
    )


def refused(result: object) -> str:
    assert isinstance(result, Refusal), f"expected a refusal, got {result!r}"
    return result.reason


def recorded(result: object) -> Review:
    assert isinstance(result, Review), f"expected the sign-off recorded, got {result!r}"
    return result


# --- who may sign ----------------------------------------------------------------------


def test_the_readiness_review_needs_tech_lead_qa_client_success_and_security() -> None:
    assert set(READINESS_ROLES) == {Role.TECH_LEAD, Role.QA, Role.CLIENT_SUCCESS, Role.SECURITY}


def test_a_hotfix_needs_reliability_and_client_success() -> None:
    assert set(HOTFIX_ROLES) == {Role.RELIABILITY, Role.CLIENT_SUCCESS}


@pytest.mark.parametrize(
    "held",
    [
        pytest.param((), id="no-role"),
        pytest.param((Role.RELEASE_MANAGER,), id="release-manager"),
        pytest.param((Role.ADMIN, Role.RELIABILITY), id="admin-and-reliability"),
    ],
)
def test_a_clicker_without_a_readiness_role_is_refused_and_nothing_is_recorded(
    held: tuple[Role, ...],
) -> None:
    before = review()
    reason = refused(sign(before, approve(Role.QA, ERIN), held, four_eyes=True))
    assert "none of the roles this review needs" in reason
    for role in READINESS_ROLES:
        assert role.label in reason
    assert "nothing was recorded" in reason
    assert "/release role add" in reason
    assert before.sign_offs == ()
    assert isinstance(signable_roles(before, ERIN, held, four_eyes=True), Refusal)


def test_a_reviewer_may_not_sign_a_role_they_do_not_hold() -> None:
    reason = refused(sign(review(), approve(Role.SECURITY, BOB), {Role.QA}, four_eyes=True))
    assert Role.SECURITY.label in reason


def test_a_reviewer_may_not_sign_a_role_the_review_does_not_need() -> None:
    hotfix = review(version="v1.4.1", required_roles=HOTFIX_ROLES)
    reason = refused(sign(hotfix, approve(Role.QA, BOB), {Role.QA}, four_eyes=True))
    assert Role.RELIABILITY.label in reason
    assert Role.CLIENT_SUCCESS.label in reason


def test_a_reviewer_holding_one_role_signs_it() -> None:
    signed = recorded(sign(review(), approve(Role.QA, BOB), {Role.QA}, four_eyes=True))
    assert signed.sign_off_for(Role.QA) == approve(Role.QA, BOB)
    assert signed.pending_roles() == (Role.TECH_LEAD, Role.CLIENT_SUCCESS, Role.SECURITY)


def test_signing_leaves_the_original_review_untouched() -> None:
    before = review()
    recorded(sign(before, approve(Role.QA, BOB), {Role.QA}, four_eyes=True))
    assert before.sign_offs == ()


def test_a_user_holding_two_readiness_roles_may_choose_either() -> None:
    allowed = signable_roles(review(), ALICE, {Role.QA, Role.SECURITY}, four_eyes=True)
    assert allowed == (Role.QA, Role.SECURITY)


def test_the_roles_offered_follow_the_review_order_and_skip_irrelevant_ones() -> None:
    held = {Role.SECURITY, Role.ADMIN, Role.TECH_LEAD, Role.RELEASE_MANAGER}
    assert signable_roles(review(), ALICE, held, four_eyes=True) == (
        Role.TECH_LEAD,
        Role.SECURITY,
    )


def test_only_the_roles_still_pending_are_offered() -> None:
    partly = review(sign_offs=(approve(Role.QA, BOB),))
    allowed = signable_roles(partly, ALICE, {Role.QA, Role.SECURITY}, four_eyes=True)
    assert allowed == (Role.SECURITY,)


# --- four-eyes -------------------------------------------------------------------------


def test_four_eyes_one_person_signs_at_most_one_role_on_a_release() -> None:
    held = {Role.QA, Role.SECURITY}
    once = recorded(sign(review(), approve(Role.QA, ALICE), held, four_eyes=True))
    reason = refused(sign(once, approve(Role.SECURITY, ALICE), held, four_eyes=True))
    assert "already signed off v1.4.0 as QA" in reason
    assert "four-eyes" in reason
    assert "nothing was recorded" in reason
    assert isinstance(signable_roles(once, ALICE, held, four_eyes=True), Refusal)


def test_four_eyes_also_refuses_a_second_rejection_by_the_same_person() -> None:
    held = {Role.QA, Role.SECURITY}
    once = recorded(sign(review(), approve(Role.QA, ALICE), held, four_eyes=True))
    second = SignOff(Role.SECURITY, ALICE, Decision.REJECT, "CVE open")
    assert "four-eyes" in refused(sign(once, second, held, four_eyes=True))


def test_without_four_eyes_one_person_may_sign_a_second_role() -> None:
    held = {Role.QA, Role.SECURITY}
    once = recorded(sign(review(), approve(Role.QA, ALICE), held, four_eyes=False))
    assert signable_roles(once, ALICE, held, four_eyes=False) == (Role.SECURITY,)
    twice = recorded(sign(once, approve(Role.SECURITY, ALICE), held, four_eyes=False))
    assert twice.roles_signed_by(ALICE) == (Role.QA, Role.SECURITY)


def test_without_four_eyes_one_person_still_cannot_sign_the_same_role_twice() -> None:
    once = recorded(sign(review(), approve(Role.QA, ALICE), {Role.QA}, four_eyes=False))
    reason = refused(sign(once, approve(Role.QA, ALICE), {Role.QA}, four_eyes=False))
    assert f"<@{ALICE}>" in reason


def test_four_eyes_does_not_stop_a_different_person_signing() -> None:
    once = recorded(sign(review(), approve(Role.QA, ALICE), {Role.QA}, four_eyes=True))
    recorded(sign(once, approve(Role.SECURITY, BOB), {Role.SECURITY}, four_eyes=True))


# --- a role already signed -------------------------------------------------------------


def test_a_role_already_signed_by_someone_else_is_refused_naming_who() -> None:
    signed = review(sign_offs=(approve(Role.QA, BOB),))
    reason = refused(sign(signed, approve(Role.QA, ALICE), {Role.QA}, four_eyes=True))
    assert "QA by <@UBOB>" in reason
    assert "nothing was recorded" in reason


def test_a_role_rejected_by_someone_else_is_refused_naming_who() -> None:
    signed = review(sign_offs=(SignOff(Role.SECURITY, DAVE, Decision.REJECT, "CVE"),))
    reason = refused(sign(signed, approve(Role.SECURITY, ALICE), {Role.SECURITY}, four_eyes=True))
    assert "Security by <@UDAVE>" in reason


def test_every_held_role_already_signed_names_each_signer() -> None:
    signed = review(sign_offs=(approve(Role.QA, BOB), approve(Role.SECURITY, DAVE)))
    reason = refused(signable_roles(signed, ALICE, {Role.QA, Role.SECURITY}, four_eyes=True))
    assert "QA by <@UBOB>" in reason
    assert "Security by <@UDAVE>" in reason


def test_a_taken_role_is_refused_naming_who_even_when_another_role_is_still_open() -> None:
    # Alice was offered QA and Security; Bob signed QA before she chose.
    signed = review(sign_offs=(approve(Role.QA, BOB),))
    reason = refused(
        sign(signed, approve(Role.QA, ALICE), {Role.QA, Role.SECURITY}, four_eyes=True)
    )
    assert "<@UBOB>" in reason


# --- closed reviews, rejections --------------------------------------------------------


def test_a_closed_review_refuses_every_sign_off() -> None:
    closed = review(is_open=False)
    reason = refused(sign(closed, approve(Role.QA, BOB), {Role.QA}, four_eyes=True))
    assert "review of v1.4.0 is closed" in reason
    assert "nothing was recorded" in reason
    assert isinstance(signable_roles(closed, BOB, {Role.QA}, four_eyes=True), Refusal)


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_a_rejection_without_a_reason_is_refused(reason: str) -> None:
    rejection = SignOff(Role.QA, BOB, Decision.REJECT, reason)
    assert refused(sign(review(), rejection, {Role.QA}, four_eyes=True)) == (
        "A rejection needs a reason."
    )


def test_a_rejection_with_a_reason_is_recorded() -> None:
    rejection = SignOff(Role.QA, BOB, Decision.REJECT, "login E2E flaky on Safari")
    signed = recorded(sign(review(), rejection, {Role.QA}, four_eyes=True))
    assert signed.sign_off_for(Role.QA) == rejection
    assert not signed.all_approved


# --- compliance items on a major release -----------------------------------------------


def test_the_last_approval_is_refused_while_a_compliance_item_is_unticked() -> None:
    pending = three_of_four_approved(
        version="v2.0.0",
        compliance_items=COMPLIANCE,
        ticked_items=frozenset({COMPLIANCE[0]}),
    )
    reason = refused(sign(pending, approve(Role.SECURITY, DAVE), {Role.SECURITY}, four_eyes=True))
    assert "last approval" in reason
    assert COMPLIANCE[1] in reason
    assert COMPLIANCE[2] in reason
    assert COMPLIANCE[0] not in reason
    assert "Nothing was recorded" in reason


def test_the_last_approval_is_allowed_once_every_compliance_item_is_ticked() -> None:
    ready = three_of_four_approved(
        version="v2.0.0",
        compliance_items=COMPLIANCE,
        ticked_items=frozenset(COMPLIANCE),
    )
    signed = recorded(sign(ready, approve(Role.SECURITY, DAVE), {Role.SECURITY}, four_eyes=True))
    assert signed.all_approved


def test_an_approval_that_is_not_the_last_is_allowed_with_items_unticked() -> None:
    major = review(version="v2.0.0", compliance_items=COMPLIANCE)
    signed = recorded(sign(major, approve(Role.QA, BOB), {Role.QA}, four_eyes=True))
    assert signed.unticked_items() == COMPLIANCE


def test_a_rejection_is_allowed_with_items_unticked() -> None:
    major = three_of_four_approved(version="v2.0.0", compliance_items=COMPLIANCE)
    rejection = SignOff(Role.SECURITY, DAVE, Decision.REJECT, "pen test open")
    recorded(sign(major, rejection, {Role.SECURITY}, four_eyes=True))


def test_a_release_without_compliance_items_takes_the_last_approval() -> None:
    signed = recorded(
        sign(
            three_of_four_approved(), approve(Role.SECURITY, DAVE), {Role.SECURITY}, four_eyes=True
        )
    )
    assert signed.all_approved


# --- all approved ----------------------------------------------------------------------


def test_all_approved_only_when_all_four_roles_approve() -> None:
    current = review()
    signers = {Role.TECH_LEAD: ALICE, Role.QA: BOB, Role.CLIENT_SUCCESS: CAROL, Role.SECURITY: DAVE}
    for role, user in signers.items():
        assert not current.all_approved
        current = recorded(sign(current, approve(role, user), {role}, four_eyes=True))
    assert current.all_approved
    assert current.pending_roles() == ()


def test_one_rejection_means_not_all_approved() -> None:
    mixed = review(
        sign_offs=(
            approve(Role.TECH_LEAD, ALICE),
            approve(Role.QA, BOB),
            approve(Role.CLIENT_SUCCESS, CAROL),
            SignOff(Role.SECURITY, DAVE, Decision.REJECT, "CVE"),
        )
    )
    assert mixed.pending_roles() == ()
    assert not mixed.all_approved


def test_approvals_from_roles_the_review_does_not_need_do_not_count() -> None:
    extra = review(
        sign_offs=(
            approve(Role.TECH_LEAD, ALICE),
            approve(Role.QA, BOB),
            approve(Role.CLIENT_SUCCESS, CAROL),
            approve(Role.RELEASE_MANAGER, DAVE),
        )
    )
    assert not extra.all_approved
    assert extra.pending_roles() == (Role.SECURITY,)


def test_a_hotfix_is_approved_by_reliability_and_client_success() -> None:
    hotfix = review(version="v1.4.1", required_roles=HOTFIX_ROLES)
    once = recorded(
        sign(hotfix, approve(Role.RELIABILITY, ALICE), {Role.RELIABILITY}, four_eyes=True)
    )
    assert not once.all_approved
    twice = recorded(
        sign(once, approve(Role.CLIENT_SUCCESS, CAROL), {Role.CLIENT_SUCCESS}, four_eyes=True)
    )
    assert twice.all_approved
