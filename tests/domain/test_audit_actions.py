"""The audit trail's action names: one enum, stored as the strings written so far."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from release.audit import AuditAction

ROOT = Path(__file__).resolve().parents[2]

#: Every action, by its stored name. Old rows keep these names, so none may change.
EXPECTED = {
    "command.start",
    "command.hotfix",
    "command.regression",
    "command.review",
    "command.cancel",
    "command.promote",
    "command.rollback",
    "command.audit_export",
    "flag.added",
    "flag.launched",
    "flag.removed",
    "flag.provider_failed",
    "incident.opened",
    "incident.resolved",
    "retention.purged",
    "transition",
    "sign_off",
    "compliance.ticked",
    "compliance.unticked",
    "staging.failed",
    "release.failed",
    "rollback.failed",
    "deployment.recorded",
    "step.failed",
    "step.retried",
    "deploy_lock.reclaimed",
    "deploy_lock.cleared",
    "deploy_lock.force_cleared",
    "bypass.hotfix",
    "bypass.short_notice_freeze",
    "freeze.scheduled",
    "freeze.cancelled",
    "role.granted",
    "role.revoked",
    "scheduled_post.sent",
    "delivery.undeliverable",
}


def test_the_actions_are_the_stored_names() -> None:
    assert {a.value for a in AuditAction} == EXPECTED


def test_no_two_actions_share_a_name() -> None:
    # A StrEnum silently makes a repeated value an alias; aliases show only in __members__.
    assert len(AuditAction.__members__) == len(AuditAction) == len(EXPECTED)


@pytest.mark.parametrize("action", list(AuditAction))
def test_an_action_is_lowercase_dotted_words(action: AuditAction) -> None:
    assert re.fullmatch(r"[a-z_]+(\.[a-z_]+)?", action.value)


@pytest.mark.parametrize("action", list(AuditAction))
def test_the_member_name_spells_the_value(action: AuditAction) -> None:
    assert action.name == action.value.replace(".", "_").upper()


def _audited_literals(path: Path) -> set[str]:
    """The string literals passed as the action of `<x>.audit(actor, action, ...)`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "audit"
            and len(node.args) >= 2
        ):
            found |= {
                n.value
                for n in ast.walk(node.args[1])
                if isinstance(n, ast.Constant) and isinstance(n.value, str)
            }
    return found


def test_every_action_the_bot_audits_is_listed() -> None:
    sources = [p for d in ("commands", "bot") for p in sorted((ROOT / d).rglob("*.py"))]
    assert sources, "commands/ and bot/ not found"
    used = set().union(*(_audited_literals(p) for p in sources))
    assert used - EXPECTED == set()
