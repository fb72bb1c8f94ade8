"""Storage on both engines: migrations, the append-only audit trail, atomic sign-offs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, inspect, text
from sqlalchemy.exc import DBAPIError

from release.audit import AuditAction
from release.clock import FixedClock
from release.lifecycle import State
from release.notes import ReleaseNotes
from release.production import ProductionDeploy
from release.review import Decision
from release.roles import Role
from storage.db import make_engine
from storage.migrate import upgrade
from storage.unit_of_work import Conflict, Store

#: Today at noon: the rows these tests write are young, so the audit trail protects them.
NOON = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    engine = make_engine(database_url)
    upgrade(engine)
    store = Store(engine, FixedClock(NOON))
    yield store
    store.dispose()


def test_a_reading_transaction_cannot_write_and_sees_one_committed_state(store: Store) -> None:
    with store.transaction() as uow:
        uow.grant("UQA", Role.QA, by="UADMIN")
    with pytest.raises(DBAPIError), store.reading() as uow:
        uow.grant("UBOB", Role.QA, by="UADMIN")
        uow._session.flush()
    with store.reading() as uow:
        assert uow.roles_of("UQA") == {Role.QA}
        with store.transaction() as other:  # committed while the read is open
            other.grant("UQA", Role.SECURITY, by="UADMIN")
        assert uow.roles_of("UQA") == {Role.QA}  # one snapshot for the whole read
    with store.reading() as uow:
        assert uow.roles_of("UQA") == {Role.QA, Role.SECURITY}
        assert uow.roles_of("UBOB") == set()


def test_migrations_create_every_table_and_are_idempotent(store: Store) -> None:
    upgrade(store.engine)  # a second run changes nothing and does not fail
    tables = set(inspect(store.engine).get_table_names())
    assert {
        "releases",
        "reviews",
        "sign_offs",
        "role_grants",
        "artefacts",
        "audit_events",
        "compliance_ticks",
        "alembic_version",
    } <= tables


def test_the_audit_trail_refuses_updates_and_deletes(store: Store) -> None:
    with store.transaction() as uow:
        uow.audit("UALICE", AuditAction.COMMAND_START, detail="x")
    for statement in ("UPDATE audit_events SET actor = 'UMALLORY'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_events")).scalar_one() == "UALICE"


def test_times_come_back_timezone_aware_utc(store: Store) -> None:
    store.clock.set(datetime(2026, 11, 24, 22, 0, tzinfo=timezone(timedelta(hours=10))))  # type: ignore[attr-defined]
    with store.transaction() as uow:
        release = uow.add_release(
            "v1.4.0", kind="regular", branch="release/v1.4.0", started_by="UALICE"
        )
    with store.transaction() as uow:
        again = uow.release("v1.4.0")
    assert again is not None
    assert again.created_at == datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert again.created_at.tzinfo is not None
    assert release.state is State.PLANNED


def test_a_second_sign_off_for_one_role_is_a_conflict(store: Store) -> None:
    with store.transaction() as uow:
        release = uow.add_release("v1.4.0", kind="regular", branch="b", started_by="U1")
        review = uow.open_review(release.id, opened_by="U1")
        uow.add_sign_off(review.id, Role.QA, "UQA", Decision.APPROVE)
    with pytest.raises(Conflict), store.transaction() as uow:
        uow.add_sign_off(review.id, Role.QA, "UOTHER", Decision.APPROVE)
    with store.transaction() as uow:
        assert [s.user_id for s in uow.review(review.id).sign_offs] == ["UQA"]  # type: ignore[union-attr]


def test_duplicate_versions_are_a_conflict(store: Store) -> None:
    with store.transaction() as uow:
        uow.add_release("v1.4.0", kind="regular", branch="b", started_by="U1")
    with pytest.raises(Conflict), store.transaction() as uow:
        uow.add_release("v1.4.0", kind="regular", branch="b", started_by="U2")


def test_a_locked_release_makes_concurrent_writers_wait_their_turn(store: Store) -> None:
    """Read-modify-write under the row lock: 8 concurrent increments all survive."""
    with store.transaction() as uow:
        uow.add_release("v1.4.0", kind="regular", branch="b", started_by="U1")
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def append_reason(n: int) -> None:
        barrier.wait()
        try:
            with store.transaction() as uow:
                current = uow.release("v1.4.0", lock=True)
                assert current is not None
                notes = current.notes_data or ReleaseNotes("v1.4.0")
                uow.set_notes("v1.4.0", replace(notes, remark=notes.remark + str(n)))
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=append_reason, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with store.transaction() as uow:
        final = uow.release("v1.4.0")
    assert final is not None
    assert final.notes_data is not None
    assert sorted(final.notes_data.remark) == [str(n) for n in range(8)]


def test_a_fresh_review_supersedes_the_open_one(store: Store) -> None:
    with store.transaction() as uow:
        release = uow.add_release("v1.4.0", kind="regular", branch="b", started_by="U1")
        first = uow.open_review(release.id, opened_by="U1")
        second = uow.open_review(release.id, opened_by="U1")
        statuses = [r.status for r in uow.reviews_of(release.id)]
    assert first.id != second.id
    assert statuses == ["superseded", "open"]


def test_production_facts_are_each_release_that_reached_production_once_per_outcome(
    database_url: str,
) -> None:
    """What `in_production` reads: a release with a production deploy row (once for each
    outcome its deploys had, however many there were) or a recorded production deployment
    id, and no other: the answer grows with the releases, not with the deploys."""
    engine = make_engine(database_url)
    store = Store(engine, FixedClock(datetime(2026, 11, 24, 0, 30, tzinfo=UTC)))
    try:
        with store.transaction() as uow:
            ids = {
                version: uow.add_release(
                    version, kind="regular", branch=f"release/{version}", started_by="U1"
                ).id
                for version in ("v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0")
            }
            for _ in range(20):  # retried deploys: one fact for each outcome
                failed = uow.start_deployment(
                    ids["v1.1.0"], "production", replaced=None, job_id=None
                )
                uow.finish_deployment(failed, ProductionDeploy.FAILED)
            uow.start_deployment(ids["v1.1.0"], "production", replaced=None, job_id=None)
            uow.start_deployment(ids["v1.2.0"], "staging", replaced=None, job_id=None)
            uow.set_production_deployment("v1.0.0", "dpl_old")
        with store.reading() as uow:
            found = sorted(uow.production_facts(), key=lambda f: (f[0], f[2] or ""))
        assert found == [
            ("v1.0.0", "planned", None),
            ("v1.1.0", "planned", "failed"),
            ("v1.1.0", "planned", "pending"),
        ]
    finally:
        store.dispose()


def test_status_finds_unsent_messages_without_reading_the_sent_ones(store: Store) -> None:
    """Sent messages are kept, so the outbox only grows; `/release status` asks for the few
    still waiting (or given up on) on every call, and must find them by the partial index
    of unsent messages rather than by reading every message the bot ever sent."""
    with store.transaction() as uow:
        for n in range(3):
            uow.add_message(f"lane-{n}", "post", {"text": f"message {n}"})
    with store.transaction() as uow:
        uow.claim_message(1, "me", timedelta(minutes=1))
        assert uow.message_sent(1, "me")
    with store.engine.begin() as connection:  # many more sent messages, as after months
        connection.execute(
            text(
                "INSERT INTO outbox (lane, kind, payload, status, attempts, next_attempt_at, "
                "last_error, reference, created_at) SELECT lane, kind, payload, 'sent', 1, "
                "next_attempt_at, '', '', created_at FROM outbox WHERE id = 1"
            )
        )
        for _ in range(10):  # doubling: 1,024 sent rows
            connection.execute(
                text(
                    "INSERT INTO outbox (lane, kind, payload, status, attempts, next_attempt_at,"
                    " last_error, reference, created_at) SELECT lane, kind, payload, status, "
                    "attempts, next_attempt_at, last_error, reference, created_at FROM outbox "
                    "WHERE status = 'sent'"
                )
            )
        if connection.dialect.name == "postgresql":
            connection.execute(text("ANALYZE outbox"))

    statements: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:  # (conn, cursor, statement, parameters, context, many)
        if "FROM outbox" in args[2]:
            statements.append((args[2], args[3]))

    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        with store.transaction() as uow:
            waiting = uow.undelivered(limit=5)
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)
    assert [m.payload["text"] for m in waiting] == ["message 2", "message 1"]  # newest first
    [(statement, parameters)] = statements
    explain = "EXPLAIN QUERY PLAN" if store.engine.dialect.name == "sqlite" else "EXPLAIN"
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql(f"{explain} {statement}", parameters)
        plan = " ".join(str(row[-1]) for row in rows)
    assert "ix_outbox_unsent" in plan, plan
