"""Repository methods for readiness reviews, their sign-offs, and role grants."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from release.records import Grant, ReviewRecord, SignOffRecord
from release.review import Decision
from release.review_status import IllegalReviewTransition, ReviewStatus, close
from release.roles import Role
from storage import models


class ReviewRepository:
    _session: Session

    def now(self) -> datetime:
        raise NotImplementedError

    # -- reviews ----------------------------------------------------------------

    def open_review(
        self,
        release_id: int,
        *,
        opened_by: str,
        compliance_items: tuple[str, ...] = (),
        kind: str = "readiness",
    ) -> ReviewRecord:
        """A fresh review; any review still open on the release is superseded."""
        for old in self._session.scalars(
            select(models.Review).where(
                models.Review.release_id == release_id, models.Review.status == "open"
            )
        ):
            old.status = _closed(old.status, ReviewStatus.SUPERSEDED)
            old.closed_at = self.now()
            old.revision += 1
        row = models.Review(
            release_id=release_id,
            kind=kind,
            status=ReviewStatus.OPEN.value,
            opened_by=opened_by,
            opened_at=self.now(),
            compliance_items=list(compliance_items),
            revision=1,
        )
        self._session.add(row)
        self._session.flush()
        return self.review(row.id)  # type: ignore[return-value]

    def version_under_review(self, review_id: int) -> str | None:
        """The version of the release that review `review_id` is of."""
        return self._session.scalar(
            select(models.Release.version)
            .join(models.Review, models.Review.release_id == models.Release.id)
            .where(models.Review.id == review_id)
        )

    def review(self, review_id: int) -> ReviewRecord | None:
        row = self._session.scalars(
            select(models.Review)
            .where(models.Review.id == review_id)
            .options(
                selectinload(models.Review.sign_offs),
                selectinload(models.Review.ticks),
                selectinload(models.Review.release),
            )
            .execution_options(populate_existing=True)
        ).one_or_none()
        return _review(row) if row else None

    def reviews_of(self, release_id: int, *, status: str | None = None) -> list[ReviewRecord]:
        query = select(models.Review.id).where(models.Review.release_id == release_id)
        if status is not None:
            query = query.where(models.Review.status == status)
        ids = self._session.scalars(query.order_by(models.Review.id)).all()
        return [r for i in ids if (r := self.review(i)) is not None]

    def close_reviews(
        self, release_id: int, status: ReviewStatus, *, approved_too: bool = False
    ) -> list[ReviewRecord]:
        """Close the open review (and an approved one, when `approved_too`) as `status`."""
        closing = (
            [ReviewStatus.OPEN, ReviewStatus.APPROVED] if approved_too else [ReviewStatus.OPEN]
        )
        closed = []
        for row in self._session.scalars(
            select(models.Review).where(
                models.Review.release_id == release_id, models.Review.status.in_(closing)
            )
        ):
            row.status = _closed(row.status, status)
            row.closed_at = self.now()
            row.revision += 1
            closed.append(row.id)
        self._session.flush()
        return [r for i in closed if (r := self.review(i)) is not None]

    def close_review(self, review_id: int, status: ReviewStatus) -> None:
        row = self._session.get_one(models.Review, review_id)
        row.status = _closed(row.status, status)
        row.closed_at = self.now()
        row.revision += 1
        self._session.flush()

    def set_review_message(self, review_id: int, channel_id: str, ts: str) -> None:
        row = self._session.get_one(models.Review, review_id)
        row.channel_id = channel_id
        row.message_ts = ts

    def forget_review_message(self, review_id: int) -> None:
        """The message was deleted in Slack: the next render posts a new one."""
        row = self._session.get_one(models.Review, review_id)
        row.channel_id = row.message_ts = None

    def add_sign_off(
        self, review_id: int, role: Role, user_id: str, decision: Decision, reason: str = ""
    ) -> None:
        self._session.add(
            models.SignOff(
                review_id=review_id,
                role=role.value,
                user_id=user_id,
                decision=decision.value,
                reason=reason,
                signed_at=self.now(),
            )
        )
        self._session.get_one(models.Review, review_id).revision += 1
        self._session.flush()

    def set_tick(self, review_id: int, item: str, user_id: str, ticked: bool) -> bool:
        """Tick or untick one compliance item; True when that changed anything."""
        existing = self._session.scalars(
            select(models.ComplianceTick).where(
                models.ComplianceTick.review_id == review_id, models.ComplianceTick.item == item
            )
        ).one_or_none()
        if ticked == (existing is not None):
            return False
        if existing is not None:
            self._session.delete(existing)
        else:
            self._session.add(
                models.ComplianceTick(
                    review_id=review_id, item=item, user_id=user_id, ticked_at=self.now()
                )
            )
        self._session.get_one(models.Review, review_id).revision += 1
        self._session.flush()
        return True


class RoleRepository:
    _session: Session

    def now(self) -> datetime:
        raise NotImplementedError

    # -- roles ------------------------------------------------------------------

    def roles_of(self, user_id: str) -> set[Role]:
        rows = self._session.scalars(
            select(models.RoleGrant.role).where(models.RoleGrant.user_id == user_id)
        )
        return {r for name in rows if (r := Role.parse(name)) is not None}

    def grants(self) -> list[Grant]:
        rows = self._session.scalars(
            select(models.RoleGrant).order_by(models.RoleGrant.role, models.RoleGrant.user_id)
        )
        return [
            Grant(r.user_id, Role(r.role), r.granted_by, r.granted_at)
            for r in rows
            if Role.parse(r.role) is not None
        ]

    def grant(self, user_id: str, role: Role, *, by: str) -> bool:
        """Grant `role`; False when the user already held it."""
        if role in self.roles_of(user_id):
            return False
        self._session.add(
            models.RoleGrant(user_id=user_id, role=role.value, granted_by=by, granted_at=self.now())
        )
        self._session.flush()
        return True

    def revoke(self, user_id: str, role: Role) -> bool:
        row = self._session.scalars(
            select(models.RoleGrant).where(
                models.RoleGrant.user_id == user_id, models.RoleGrant.role == role.value
            )
        ).one_or_none()
        if row is None:
            return False
        self._session.delete(row)
        self._session.flush()
        return True

    def count_holders(self, role: Role, *, lock: bool = False) -> int:
        """How many hold `role`; with `lock`, their grants stay locked until commit."""
        query = select(models.RoleGrant.id).where(models.RoleGrant.role == role.value)
        return len(self._session.scalars(query.with_for_update() if lock else query).all())


def _closed(status: str, to: ReviewStatus) -> str:
    """The review status table in release.review_status decides; storage only obeys it."""
    after = close(ReviewStatus(status), to)
    if isinstance(after, IllegalReviewTransition):
        raise ValueError(after.explain())
    return after.value


def _review(row: models.Review) -> ReviewRecord:
    return ReviewRecord(
        id=row.id,
        release_id=row.release_id,
        version=row.release.version,
        kind=row.kind,
        status=row.status,
        opened_by=row.opened_by,
        opened_at=row.opened_at,
        channel_id=row.channel_id,
        message_ts=row.message_ts,
        revision=row.revision,
        compliance_items=tuple(row.compliance_items or ()),
        ticked={t.item: t.user_id for t in row.ticks},
        sign_offs=tuple(
            SignOffRecord(Role(s.role), s.user_id, Decision(s.decision), s.reason, s.signed_at)
            for s in row.sign_offs
        ),
    )
