"""Feature flags as the policy has them: scoped, with a rollback plan, removed in time.

"Flags scoped by tenant (Admin, Agency), roles, or percentages for limited release."
"Flags must have rollback plan and removal timeline (≤2 sprints post-global launch)."
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from release.roles import Role

#: The tenants the policy names.
TENANTS = ("Admin", "Agency")
KEY = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


class ScopeKind(StrEnum):
    TENANT = "tenant"
    ROLE = "role"
    PERCENTAGE = "percentage"


class FlagStatus(StrEnum):
    SCOPED = "scoped"  # on for its scope only
    LAUNCHED = "launched"  # on for everyone: the removal clock runs
    REMOVED = "removed"


@dataclass(frozen=True)
class FlagScope:
    kind: ScopeKind
    value: str  # a tenant, a role's name, or a whole percentage 1–100

    def __str__(self) -> str:
        return (
            f"{self.value}%" if self.kind is ScopeKind.PERCENTAGE else f"{self.kind} {self.value}"
        )


def parse_scope(word: str) -> FlagScope | str:
    """`Admin`, `Agency`, `role:qa` (or a role name) or `25%`; else why not, in a sentence."""
    text = word.strip()
    for tenant in TENANTS:
        if text.lower() in (tenant.lower(), f"tenant:{tenant.lower()}"):
            return FlagScope(ScopeKind.TENANT, tenant)
    match = re.fullmatch(r"(\d{1,3})%", text)
    if match:
        percent = int(match.group(1))
        if 1 <= percent <= 100:
            return FlagScope(ScopeKind.PERCENTAGE, str(percent))
        return "A percentage scope is 1% to 100%."
    role = text.lower().removeprefix("role:")
    if role in {r.value for r in Role}:
        return FlagScope(ScopeKind.ROLE, role)
    return (
        f"`{text[:40]}` is not a scope: use a tenant (Admin, Agency), a role "
        "(for example `role:qa`) or a percentage (for example `10%`)."
    )


def removal_deadline(launched_at: datetime, sprint: timedelta) -> datetime:
    """Two sprints after the global launch."""
    return launched_at + 2 * sprint


def is_overdue(remove_by: datetime | None, removed: bool, now: datetime) -> bool:
    return remove_by is not None and not removed and now > remove_by
