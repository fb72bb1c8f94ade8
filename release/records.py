"""What storage hands back: plain, frozen facts about releases, reviews and the audit trail."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from release.flags import FlagScope, FlagStatus
from release.lifecycle import State
from release.notes import ReleaseNotes
from release.review import Decision, Review, SignOff
from release.roles import HOTFIX_ROLES, READINESS_ROLES, Role


@dataclass(frozen=True)
class ReleaseRecord:
    id: int
    version: str
    kind: str
    state: State
    branch: str
    regression_passed: bool
    staging_deployment_id: str | None
    production_deployment_id: str | None
    started_by: str
    created_at: datetime
    updated_at: datetime
    reason: str = ""
    notes: str = ""  # notes kept as text by an older version
    notes_data: ReleaseNotes | None = None
    branch_point: str | None = None
    staging_sha: str | None = None


@dataclass(frozen=True)
class SignOffRecord:
    role: Role
    user_id: str
    decision: Decision
    reason: str
    signed_at: datetime


@dataclass(frozen=True)
class ReviewRecord:
    id: int
    release_id: int
    version: str
    kind: str
    status: str
    opened_by: str
    opened_at: datetime
    channel_id: str | None
    message_ts: str | None
    revision: int
    compliance_items: tuple[str, ...] = ()
    ticked: dict[str, str] = field(default_factory=dict)  # item -> who ticked it
    sign_offs: tuple[SignOffRecord, ...] = ()

    @property
    def required_roles(self) -> tuple[Role, ...]:
        return HOTFIX_ROLES if self.kind == "hotfix" else READINESS_ROLES

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def rules(self) -> Review:
        """The review as the sign-off rules see it."""
        return Review(
            version=self.version,
            required_roles=self.required_roles,
            sign_offs=tuple(
                SignOff(s.role, s.user_id, s.decision, s.reason) for s in self.sign_offs
            ),
            is_open=self.is_open,
            compliance_items=self.compliance_items,
            ticked_items=frozenset(self.ticked),
        )


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    version: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class Grant:
    user_id: str
    role: Role
    granted_by: str
    granted_at: datetime


@dataclass(frozen=True)
class DeployLockRecord:
    """Who holds the production deploy lock, and until when their lease runs."""

    holder: str
    version: str
    actor: str
    acquired_at: datetime
    expires_at: datetime

    def is_live(self, now: datetime) -> bool:
        return now < self.expires_at


@dataclass(frozen=True)
class LockOutcome:
    acquired: bool
    held_by: DeployLockRecord | None = None  # the live holder, when not acquired
    reclaimed_from: DeployLockRecord | None = None  # an expired holder that was replaced


@dataclass(frozen=True)
class FlagRecord:
    id: int
    key: str
    scope: FlagScope
    rollback_plan: str
    status: FlagStatus
    created_by: str
    created_at: datetime
    launched_at: datetime | None = None
    remove_by: datetime | None = None
    removed_at: datetime | None = None


@dataclass(frozen=True)
class IncidentRecord:
    id: int
    release_id: int
    summary: str
    opened_by: str
    opened_at: datetime
    resolved_by: str | None = None
    resolved_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
