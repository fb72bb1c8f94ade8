"""SQLAlchemy 2 typed models for releases, reviews, sign-offs, roles, artefacts and audit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UtcDateTime


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON}


class Release(Base):
    __tablename__ = "releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="regular")
    state: Mapped[str] = mapped_column(String(32))
    branch: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")  # before notes were data (0007)
    notes_data: Mapped[dict[str, Any] | None]
    branch_point: Mapped[str | None] = mapped_column(String(64))  # the commit it was cut from
    staging_deployment_id: Mapped[str | None] = mapped_column(String(128))
    staging_sha: Mapped[str | None] = mapped_column(String(64))  # the commit it was built from
    fixes_release_id: Mapped[int | None] = mapped_column(index=True)  # a hotfix: what it fixes
    answers_incident_id: Mapped[int | None]  # a hotfix: the incident it answers
    production_deployment_id: Mapped[str | None] = mapped_column(String(128))
    regression_passed: Mapped[bool] = mapped_column(default=False)
    started_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Bumped on every change; SQLAlchemy refuses a write made from a stale read.
    revision: Mapped[int] = mapped_column(Integer, default=1)

    reviews: Mapped[list[Review]] = relationship(back_populates="release", order_by="Review.id")

    __mapper_args__ = {"version_id_col": revision}


class Review(Base):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="readiness")
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_by: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    compliance_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Bumped on every change the message shows, so a stale render can be detected.
    revision: Mapped[int] = mapped_column(Integer, default=1)

    release: Mapped[Release] = relationship(back_populates="reviews")
    sign_offs: Mapped[list[SignOff]] = relationship(order_by="SignOff.id")
    ticks: Mapped[list[ComplianceTick]] = relationship(order_by="ComplianceTick.id")


class SignOff(Base):
    __tablename__ = "sign_offs"
    __table_args__ = (UniqueConstraint("review_id", "role", name="uq_sign_off_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    signed_at: Mapped[datetime]


class ComplianceTick(Base):
    __tablename__ = "compliance_ticks"
    __table_args__ = (UniqueConstraint("review_id", "item", name="uq_compliance_tick"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), index=True)
    item: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[str] = mapped_column(String(32))
    ticked_at: Mapped[datetime]


class RoleGrant(Base):
    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("user_id", "role", name="uq_role_grant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), index=True)
    role: Mapped[str] = mapped_column(String(32))
    granted_by: Mapped[str] = mapped_column(String(32))
    granted_at: Mapped[datetime]


class Artefact(Base):
    """A release artefact the policy keeps for 24 months: test reports, approvals."""

    __tablename__ = "artefacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16), default="")
    url: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(index=True)  # (the retention purge)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AuditEvent(Base):
    """Append-only: database triggers refuse UPDATE, REPLACE and TRUNCATE, and DELETE of a
    row younger than 24 months (the retention purge removes the older ones)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id"), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Freeze(Base):
    __tablename__ = "freezes"

    id: Mapped[int] = mapped_column(primary_key=True)
    starts: Mapped[datetime] = mapped_column(index=True)
    ends: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    short_notice: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    cancelled_by: Mapped[str | None] = mapped_column(String(32))
    cancelled_at: Mapped[datetime | None]


class DeployLock(Base):
    """One row per lock name ("production"), created by the migration and never deleted.

    Taking the lock is an UPDATE of a row read FOR UPDATE, so two instances cannot both
    take it; a holder that dies stops renewing `expires_at` and the lock can be reclaimed.
    """

    __tablename__ = "deploy_locks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128))
    version: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(32))
    acquired_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]


class ScheduledPost(Base):
    """A claim on one scheduled post: the unique key makes exactly one instance send it."""

    __tablename__ = "scheduled_posts"
    __table_args__ = (UniqueConstraint("kind", "key", "due_at", name="uq_scheduled_post"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # claimed | sent
    claimed_by: Mapped[str] = mapped_column(String(128))
    claimed_until: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    late: Mapped[bool] = mapped_column(default=False)


#: An outbox message not sent (yet, or ever): the partial index's predicate below, and the
#: filter that uses it, written out the same so that both databases match the two (a bound
#: parameter would not). 'sent' is storage.outbox.SENT; the predicate is also migration 0012's.
UNSENT = text("status <> 'sent'")


class OutboxMessage(Base):
    """Something to say in Slack, recorded with the change that decided it; sent after commit.

    Messages in one lane (a channel, the replies to one request, one person's Home tab) go
    out in id order; a message that fails waits with its lane and is retried by any
    instance.
    """

    __tablename__ = "outbox"
    #: The few messages not yet sent (or given up on): what `/release status` lists.
    __table_args__ = (
        Index(
            "ix_outbox_unsent",
            "id",
            sqlite_where=UNSENT,
            postgresql_where=UNSENT,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lane: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | sent | undeliverable
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    reference: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class Job(Base):
    """A slow release procedure (staging, notes, promotion) as durable steps.

    `step` is the next step to run; `data` holds what the completed steps returned. Any
    instance may run a pending job whose claim has lapsed, from its current step.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id"), index=True)
    actor: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(
        String(16), index=True
    )  # pending | done | failed | cancelled
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class Deployment(Base):
    """A fact about one deploy: what, where, when, how it ended and what it replaced."""

    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), index=True)
    environment: Mapped[str] = mapped_column(String(16))  # staging | production
    deployment_id: Mapped[str | None] = mapped_column(String(128))
    url: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # pending | succeeded | failed | unknown
    replaced: Mapped[str | None] = mapped_column(String(128))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    kind: Mapped[str] = mapped_column(String(16), default="promotion")  # promotion | rollback
    answers_incident_id: Mapped[int | None]  # a rollback: the incident it answers


class SeenRequest(Base):
    """A signed request already accepted: the same signature again is a replay."""

    __tablename__ = "seen_requests"

    signature: Mapped[str] = mapped_column(String(80), primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    seen_at: Mapped[datetime] = mapped_column(index=True)


class BotFact(Base):
    """A named instant in the bot's own life: "first_tick", when it first looked for posts."""

    __tablename__ = "bot_facts"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime]


class Flag(Base):
    """A feature flag in the registry: its scope, rollback plan and removal deadline."""

    __tablename__ = "flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    scope_kind: Mapped[str] = mapped_column(String(16))  # tenant | role | percentage
    scope_value: Mapped[str] = mapped_column(String(64))
    rollback_plan: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # scoped | launched | removed
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    launched_at: Mapped[datetime | None]
    remove_by: Mapped[datetime | None]
    removed_at: Mapped[datetime | None]
    removed_by: Mapped[str | None] = mapped_column(String(32))


class Incident(Base):
    """A production failure, tied to the release that caused it."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), index=True)
    summary: Mapped[str] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[datetime] = mapped_column(index=True)
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    resolved_at: Mapped[datetime | None]


class ReadVersion(Base):
    """One row: a number the database's own triggers (migration 0011) bump in every
    transaction that changes a table cached reads are made from (storage.read_cache)."""

    __tablename__ = "read_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger)
