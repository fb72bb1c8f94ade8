"""One table from parsed command to the handler that carries it out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from commands import help as help_command
from commands import lifecycle, roles, status
from commands.context import Context
from commands.parser import (
    Cancel,
    Command,
    Help,
    OpenReview,
    Promote,
    Regression,
    RoleAdd,
    RoleList,
    RoleRemove,
    Start,
    Status,
)

HANDLERS: dict[type, Callable[[Context, Any], None]] = {
    Help: help_command.show_help,
    Start: lifecycle.start,
    Status: status.status,
    Regression: lifecycle.regression,
    OpenReview: lifecycle.open_review,
    Cancel: lifecycle.cancel,
    Promote: lifecycle.promote,
    RoleAdd: roles.add,
    RoleRemove: roles.remove,
    RoleList: roles.list_roles,
}


def execute(ctx: Context, command: Command) -> None:
    HANDLERS[type(command)](ctx, command)
