"""Every action the audit trail records, by the name it is stored under."""

from __future__ import annotations

from enum import StrEnum, unique

__all__ = ["AuditAction"]


@unique
class AuditAction(StrEnum):
    # A command that changed something ("command." is shown as "ran `<name>`" in status).
    COMMAND_START = "command.start"
    COMMAND_HOTFIX = "command.hotfix"
    COMMAND_REGRESSION = "command.regression"
    COMMAND_REVIEW = "command.review"
    COMMAND_CANCEL = "command.cancel"
    COMMAND_PROMOTE = "command.promote"
    COMMAND_ROLLBACK = "command.rollback"
    COMMAND_AUDIT_EXPORT = "command.audit_export"
    # Feature flags and incidents.
    FLAG_ADDED = "flag.added"
    FLAG_LAUNCHED = "flag.launched"
    FLAG_REMOVED = "flag.removed"
    FLAG_PROVIDER_FAILED = "flag.provider_failed"
    INCIDENT_OPENED = "incident.opened"
    INCIDENT_RESOLVED = "incident.resolved"
    # Retention: what was purged after 24 months.
    RETENTION_PURGED = "retention.purged"
    # The release and its review.
    TRANSITION = "transition"
    SIGN_OFF = "sign_off"
    COMPLIANCE_TICKED = "compliance.ticked"
    COMPLIANCE_UNTICKED = "compliance.unticked"
    STAGING_FAILED = "staging.failed"
    RELEASE_FAILED = "release.failed"
    ROLLBACK_FAILED = "rollback.failed"
    # Production deploys and their lock.
    DEPLOYMENT_RECORDED = "deployment.recorded"
    STEP_FAILED = "step.failed"
    STEP_RETRIED = "step.retried"
    DEPLOY_LOCK_RECLAIMED = "deploy_lock.reclaimed"
    DEPLOY_LOCK_CLEARED = "deploy_lock.cleared"
    DEPLOY_LOCK_FORCE_CLEARED = "deploy_lock.force_cleared"
    # Going around the policy, announced.
    BYPASS_HOTFIX = "bypass.hotfix"
    BYPASS_SHORT_NOTICE_FREEZE = "bypass.short_notice_freeze"
    # Freezes, roles and what the bot posts.
    FREEZE_SCHEDULED = "freeze.scheduled"
    FREEZE_CANCELLED = "freeze.cancelled"
    ROLE_GRANTED = "role.granted"
    ROLE_REVOKED = "role.revoked"
    SCHEDULED_POST_SENT = "scheduled_post.sent"
    DELIVERY_UNDELIVERABLE = "delivery.undeliverable"
