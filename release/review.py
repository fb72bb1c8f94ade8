"""Sign-off rules for a readiness review (and a hotfix approval, which has other roles)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from release.refusal import Refusal
from release.review_status import (
    REVIEW_TRANSITIONS,
    IllegalReviewTransition,
    ReviewStatus,
    close,
)
from release.roles import Role

__all__ = [
    "REVIEW_TRANSITIONS",
    "Decision",
    "IllegalReviewTransition",
    "Refusal",
    "Review",
    "ReviewStatus",
    "SignOff",
    "close",
    "sign",
    "signable_roles",
]


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True)
class SignOff:
    role: Role
    user_id: str
    decision: Decision
    reason: str = ""


@dataclass(frozen=True)
class Review:
    """What the rules need to know about one review of one release."""

    version: str
    required_roles: tuple[Role, ...]
    sign_offs: tuple[SignOff, ...] = ()
    is_open: bool = True
    compliance_items: tuple[str, ...] = ()
    ticked_items: frozenset[str] = field(default_factory=frozenset)

    def sign_off_for(self, role: Role) -> SignOff | None:
        return next((s for s in self.sign_offs if s.role == role), None)

    def pending_roles(self) -> tuple[Role, ...]:
        return tuple(r for r in self.required_roles if self.sign_off_for(r) is None)

    def roles_signed_by(self, user_id: str) -> tuple[Role, ...]:
        return tuple(s.role for s in self.sign_offs if s.user_id == user_id)

    def unticked_items(self) -> tuple[str, ...]:
        return tuple(i for i in self.compliance_items if i not in self.ticked_items)

    @property
    def all_approved(self) -> bool:
        return all(
            (s := self.sign_off_for(r)) is not None and s.decision is Decision.APPROVE
            for r in self.required_roles
        )


def _titles(roles: Iterable[Role]) -> str:
    return ", ".join(r.label for r in roles)


def signable_roles(
    review: Review, user_id: str, held: Iterable[Role], *, four_eyes: bool
) -> tuple[Role, ...] | Refusal:
    """The roles `user_id` may sign on `review` now, or why they may sign none."""
    held_set = set(held)
    if not review.is_open:
        return Refusal(f"This review of {review.version} is closed; nothing was recorded.")
    relevant = [r for r in review.required_roles if r in held_set]
    if not relevant:
        return Refusal(
            f"You hold none of the roles this review needs ({_titles(review.required_roles)}), "
            "so nothing was recorded. An admin can grant one with `/release role add`."
        )
    already = review.roles_signed_by(user_id)
    if already and four_eyes:
        return Refusal(
            f"You already signed off {review.version} as {_titles(already)}. "
            "One person signs at most one role on a release (four-eyes), so nothing was recorded."
        )
    pending = [r for r in relevant if r in review.pending_roles()]
    if not pending:
        taken = "; ".join(
            f"{r.label} by <@{s.user_id}>"
            for r in relevant
            if (s := review.sign_off_for(r)) is not None
        )
        return Refusal(
            f"Every role you hold on this review has already signed off ({taken}); "
            "nothing was recorded."
        )
    return tuple(pending)


def sign(
    review: Review,
    sign_off: SignOff,
    held: Iterable[Role],
    *,
    four_eyes: bool,
) -> Review | Refusal:
    """The review with `sign_off` recorded, or why it may not be."""
    allowed = signable_roles(review, sign_off.user_id, held, four_eyes=four_eyes)
    if isinstance(allowed, Refusal):
        return allowed
    if sign_off.role not in allowed:
        taken = review.sign_off_for(sign_off.role)
        if taken is not None:
            return Refusal(
                f"{sign_off.role.label} was already signed off by <@{taken.user_id}>; "
                "nothing was recorded."
            )
        return Refusal(f"You cannot sign off as {sign_off.role.label} on this review.")
    if sign_off.decision is Decision.REJECT and not sign_off.reason.strip():
        return Refusal("A rejection needs a reason.")
    signed = Review(
        version=review.version,
        required_roles=review.required_roles,
        sign_offs=(*review.sign_offs, sign_off),
        is_open=review.is_open,
        compliance_items=review.compliance_items,
        ticked_items=review.ticked_items,
    )
    if sign_off.decision is Decision.APPROVE and signed.all_approved and review.unticked_items():
        return Refusal(
            "This would be the last approval, and every compliance item must be ticked first: "
            + "; ".join(review.unticked_items())
            + ". Nothing was recorded."
        )
    return signed
