"""One table from parsed command to the handler that carries it out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from commands import freezes, hotfix, lifecycle, production, regression, roles, rollback, status
from commands import help as help_command
from commands.context import Context
from commands.parser import (
    Cancel,
    Check,
    Command,
    FreezeAdd,
    FreezeCancel,
    FreezeList,
    Help,
    Hotfix,
    OpenReview,
    Promote,
    Regression,
    RoleAdd,
    RoleList,
    RoleRemove,
    Rollback,
    Start,
    Status,
    Unlock,
)

HANDLERS: dict[type, Callable[[Context, Any], None]] = {
    Help: help_command.show_help,
    Start: lifecycle.start,
    Status: status.status,
    Regression: regression.regression,
    OpenReview: lifecycle.open_review,
    Cancel: lifecycle.cancel,
    Promote: production.promote,
    Check: production.check,
    Unlock: production.unlock,
    Rollback: rollback.rollback,
    Hotfix: hotfix.hotfix,
    FreezeAdd: freezes.add,
    FreezeList: freezes.list_freezes,
    FreezeCancel: freezes.cancel,
    RoleAdd: roles.add,
    RoleRemove: roles.remove,
    RoleList: roles.list_roles,
}


def execute(ctx: Context, command: Command) -> None:
    HANDLERS[type(command)](ctx, command)
