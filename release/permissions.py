"""Who may do what: one table of actions and the roles allowed to take them."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum, unique

from release.refusal import Refusal
from release.roles import HOTFIX_ROLES, READINESS_ROLES, Role

__all__ = [
    "ANYONE",
    "PERMISSIONS",
    "Action",
    "may_tick",
    "permitted",
    "refusal",
    "tick_refusal",
]


@unique
class Action(StrEnum):
    START = "start"
    HOTFIX = "hotfix"
    REGRESSION = "regression"
    OPEN_REVIEW = "open_review"
    CANCEL = "cancel"
    PROMOTE = "promote"
    CHECK = "check"
    STATUS = "status"
    UNLOCK = "unlock"
    FORCE_UNLOCK = "force_unlock"
    ROLLBACK = "rollback"
    FLAG_CHANGE = "flag_change"
    FLAG_LIST = "flag_list"
    INCIDENT = "incident"
    METRICS = "metrics"
    AUDIT_EXPORT = "audit_export"
    FREEZE_SCHEDULE = "freeze_schedule"
    FREEZE_SCHEDULE_SHORT_NOTICE = "freeze_schedule_short_notice"
    FREEZE_CANCEL = "freeze_cancel"
    LIST_FREEZES = "list_freezes"
    GRANT_ROLE = "grant_role"
    REVOKE_ROLE = "revoke_role"
    LIST_ROLES = "list_roles"
    SIGN_OFF = "sign_off"
    TICK_COMPLIANCE = "tick_compliance"
    HELP = "help"


#: No role needed: anyone in the channel may.
ANYONE: frozenset[Role] = frozenset()

_RELEASE_MANAGER = frozenset({Role.RELEASE_MANAGER})
_REVIEWERS = frozenset(READINESS_ROLES) | frozenset(HOTFIX_ROLES)

#: Who may take each action: holding any one of the roles is enough. Admin is a role like
#: the others, not a master key: it grants and revokes roles and nothing more.
PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.START: _RELEASE_MANAGER,
    Action.HOTFIX: _RELEASE_MANAGER,
    Action.REGRESSION: frozenset({Role.QA}),
    Action.OPEN_REVIEW: _RELEASE_MANAGER,
    Action.CANCEL: _RELEASE_MANAGER,
    Action.PROMOTE: _RELEASE_MANAGER,
    Action.CHECK: ANYONE,
    Action.STATUS: ANYONE,
    Action.UNLOCK: _RELEASE_MANAGER,
    Action.FORCE_UNLOCK: _RELEASE_MANAGER,
    Action.ROLLBACK: _RELEASE_MANAGER,
    Action.FLAG_CHANGE: _RELEASE_MANAGER,
    Action.FLAG_LIST: ANYONE,
    # Whoever runs production: they open an incident, and say when service is restored.
    Action.INCIDENT: frozenset({Role.RELEASE_MANAGER, Role.RELIABILITY}),
    Action.METRICS: ANYONE,
    # The compliance trail: the people who answer for it.
    Action.AUDIT_EXPORT: frozenset({Role.RELEASE_MANAGER, Role.SECURITY, Role.RELIABILITY}),
    Action.FREEZE_SCHEDULE: frozenset({Role.RELEASE_MANAGER, Role.RELIABILITY}),
    # Less than 14 days' notice: see release.freezes.check_freeze, which words that refusal.
    Action.FREEZE_SCHEDULE_SHORT_NOTICE: frozenset({Role.RELIABILITY}),
    Action.FREEZE_CANCEL: frozenset({Role.RELEASE_MANAGER, Role.RELIABILITY}),
    Action.LIST_FREEZES: ANYONE,
    Action.GRANT_ROLE: frozenset({Role.ADMIN}),
    Action.REVOKE_ROLE: frozenset({Role.ADMIN}),
    Action.LIST_ROLES: ANYONE,
    # Any reviewer role; which ones a given review takes is release.review.signable_roles.
    Action.SIGN_OFF: _REVIEWERS,
    # Any reviewer role or a release manager; on a given review, see may_tick.
    Action.TICK_COMPLIANCE: _REVIEWERS | _RELEASE_MANAGER,
    Action.HELP: ANYONE,
}

#: What the action is, in the words a refusal uses: "Only a Release Manager may <doing>".
_DOING: dict[Action, str] = {
    Action.START: "start a release",
    Action.HOTFIX: "start a hotfix",
    Action.REGRESSION: "record regression results",
    Action.OPEN_REVIEW: "open a review",
    Action.CANCEL: "cancel a release",
    Action.PROMOTE: "promote a release",
    Action.UNLOCK: "clear the deploy lock",
    Action.FORCE_UNLOCK: "force-clear the deploy lock",
    Action.ROLLBACK: "roll back production",
    Action.FLAG_CHANGE: "add, launch or remove a feature flag",
    Action.INCIDENT: "open or resolve an incident",
    Action.AUDIT_EXPORT: "export the audit trail",
    Action.FREEZE_SCHEDULE: "schedule a freeze",
    Action.FREEZE_SCHEDULE_SHORT_NOTICE: "schedule a short-notice freeze",
    Action.FREEZE_CANCEL: "cancel a freeze",
    Action.GRANT_ROLE: "grant roles",
    Action.REVOKE_ROLE: "revoke roles",
    Action.SIGN_OFF: "sign off a review",
}

_TICK_REFUSAL = (
    "Only a reviewer or a release manager may tick compliance items; the checklist was not changed."
)


def permitted(action: Action, held: Iterable[Role]) -> bool:
    """Whether someone holding `held` may take `action`."""
    allowed = PERMISSIONS[action]
    return allowed == ANYONE or not allowed.isdisjoint(held)


def may_tick(required_roles: Iterable[Role], held: Iterable[Role]) -> bool:
    """Whether someone holding `held` may tick the compliance items of a review needing
    `required_roles`: one of its reviewers, or a release manager."""
    return not (set(required_roles) | _RELEASE_MANAGER).isdisjoint(held)


def tick_refusal(required_roles: Iterable[Role], held: Iterable[Role]) -> Refusal | None:
    """Why someone may not tick this review's compliance items, or None if they may."""
    return None if may_tick(required_roles, held) else Refusal(_TICK_REFUSAL)


def _a(role: Role) -> str:
    return f"{'an' if role.label[0] in 'AEIOU' else 'a'} {role.label}"


def refusal(action: Action, held: Iterable[Role]) -> Refusal | None:
    """Why someone holding `held` may not take `action`, or None if they may."""
    if permitted(action, held):
        return None
    if action is Action.TICK_COMPLIANCE:
        return Refusal(_TICK_REFUSAL)
    allowed = [r for r in Role if r in PERMISSIONS[action]]  # in the order Role lists them
    doing = _DOING[action]
    if len(allowed) == 1:
        (role,) = allowed
        return Refusal(
            f"Only {_a(role)} may {doing}, and you do not hold that role. "
            f"An admin can grant it with `/release role add @you {role.value}`. "
            "Nothing was changed."
        )
    who = ", ".join(_a(r) for r in allowed[:-1]) + f" or {_a(allowed[-1])}"
    return Refusal(f"Only {who} may {doing}. Nothing was changed.")
