"""Moving a release through the lifecycle table, audited, inside the caller's transaction."""

from __future__ import annotations

from release.audit import AuditAction
from release.lifecycle import Event, IllegalTransition, transition
from release.records import ReleaseRecord
from storage.unit_of_work import UnitOfWork


def advance(
    uow: UnitOfWork, release: ReleaseRecord, event: Event, actor: str, **details: str
) -> ReleaseRecord | IllegalTransition:
    """Apply `event` to `release` (which the caller has locked), or say why not."""
    after = transition(release.state, event)
    if isinstance(after, IllegalTransition):
        return after
    updated = uow.move_release(release.version, after)
    uow.audit(
        actor,
        AuditAction.TRANSITION,
        release.id,
        event=event.value,
        from_state=release.state.value,
        to_state=after.value,
        **details,
    )
    return updated
