"""The configurable parts of the release policy, as the domain reads them."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_COMPLIANCE_ITEMS: tuple[str, ...] = (
    "Privacy policy reference unchanged, or the update coordinated with Legal",
    "HighLevel.Final is current",
    "The context JSON is current",
)

DEFAULT_SMOKE_CHECKS: tuple[str, ...] = ("asset upload", "share view", "notification trigger")


@dataclass(frozen=True)
class Policy:
    four_eyes: bool = True
    compliance_items: tuple[str, ...] = DEFAULT_COMPLIANCE_ITEMS
    config_admins: frozenset[str] = field(default_factory=frozenset)
