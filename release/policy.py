"""The configurable parts of the release policy, as the domain reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from release.schedule import SchedulePolicy

DEFAULT_COMPLIANCE_ITEMS: tuple[str, ...] = (
    "Privacy policy reference unchanged, or the update coordinated with Legal",
    "HighLevel.Final is current",
    "The context JSON is current",
)

DEFAULT_SMOKE_CHECKS: tuple[str, ...] = ("asset upload", "share view", "notification trigger")

#: "Upgrades (Next.js, Drizzle, Mux SDK) scheduled monthly".
DEFAULT_DEPENDENCY_UPGRADES: tuple[str, ...] = ("Next.js", "Drizzle", "Mux SDK")


@dataclass(frozen=True)
class Policy:
    four_eyes: bool = True
    compliance_items: tuple[str, ...] = DEFAULT_COMPLIANCE_ITEMS
    config_admins: frozenset[str] = field(default_factory=frozenset)
    schedule: SchedulePolicy = field(default_factory=SchedulePolicy)
    dependency_upgrades: tuple[str, ...] = DEFAULT_DEPENDENCY_UPGRADES
    #: How long a production deploy lock lives without renewal before it may be reclaimed.
    deploy_lock_lease: timedelta = timedelta(minutes=5)
    #: A sprint: a launched flag is removed within two of them.
    sprint: timedelta = timedelta(days=14)
