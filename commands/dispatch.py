"""One table from parsed command to the handler that carries it out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from commands import (
    audit_export,
    flags,
    freezes,
    hotfix,
    incidents,
    lifecycle,
    metrics,
    production,
    regression,
    roles,
    rollback,
    status,
)
from commands import help as help_command
from commands.context import Context
from commands.parser import (
    AuditExport,
    Cancel,
    Check,
    Command,
    FlagAdd,
    FlagLaunch,
    FlagList,
    FlagRemove,
    FreezeAdd,
    FreezeCancel,
    FreezeList,
    Help,
    Hotfix,
    IncidentOpen,
    IncidentResolve,
    Metrics,
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
    FlagAdd: flags.add,
    FlagLaunch: flags.launch,
    FlagRemove: flags.remove,
    FlagList: flags.list_flags,
    IncidentOpen: incidents.open_incident,
    IncidentResolve: incidents.resolve_incident,
    Metrics: metrics.metrics,
    AuditExport: audit_export.export,
}

#: Commands that only read: answered in the acknowledgement itself (`Answer`), from a
#: read-only transaction, with nothing recorded.
READ_ONLY: frozenset[type] = frozenset({Help, Status, FreezeList, RoleList, FlagList})


def execute(ctx: Context, command: Command) -> None:
    HANDLERS[type(command)](ctx, command)
