"""Read-only commands are answered in the acknowledgement: at once, from a read-only
transaction that never waits behind a writer, with nothing recorded."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.console.fake_slack import RESPONSE_URL
from bot.console.local import CHANNEL_ID
from bot.work import Worker
from tests.harness import BRISBANE, MANAGER, QA, Harness

QUIET = ("outbox", "seen_requests", "audit_events")


def _answer(bot: Harness, user: str, command: str) -> tuple[str, float]:
    began = time.monotonic()
    response = bot.run(user, command)
    took = time.monotonic() - began
    body = response.json()
    assert body["response_type"] == "ephemeral"
    return body["text"], took


def _counts(bot: Harness) -> dict[str, int]:
    return {table: bot.count(table) for table in QUIET}


def _settled(bot: Harness) -> dict[str, int]:
    """The counts once every release step has finished and every message is out."""
    deadline = time.monotonic() + 30
    while bot.rows(
        "SELECT (SELECT COUNT(*) FROM jobs WHERE status = 'pending')"
        " + (SELECT COUNT(*) FROM outbox WHERE status = 'pending')"
    )[0][0]:
        assert time.monotonic() < deadline, "the bot did not settle"
        time.sleep(0.05)
    bot.fake.wait_quiet()
    return _counts(bot)


@contextmanager
def _started(database_url: str, answer_in_ack: float) -> Iterator[Harness]:
    harness = Harness.start(database_url, answer_in_ack_seconds=answer_in_ack)
    try:
        yield harness
    finally:
        harness.stop()


@pytest.fixture
def patient(database_url: str) -> Iterator[Harness]:
    """A bot that waits up to 2 s to answer a read in the acknowledgement."""
    with _started(database_url, 2.0) as harness:
        yield harness


@pytest.fixture
def hasty(database_url: str) -> Iterator[Harness]:
    """A bot that never waits for a read: every answer follows the acknowledgement."""
    with _started(database_url, 0) as harness:
        yield harness


def test_status_and_the_lists_are_answered_in_the_acknowledgement_and_record_nothing(
    patient: Harness,
) -> None:
    bot = patient
    bot.cast()
    bot.run_and_wait(MANAGER, "start v1.4.0")
    bot.run_and_wait(MANAGER, "freeze add 2026-12-20 2027-01-05 holidays")
    before, told = _settled(bot), len(bot.fake.ephemerals)

    status, _ = _answer(bot, QA, "status")
    assert "v1.4.0" in status
    detail, _ = _answer(bot, QA, "status v1.4.0")
    assert "v1.4.0" in detail and "staging" in detail
    assert "holidays" in _answer(bot, QA, "freeze list")[0]
    assert f"<@{QA}>" in _answer(bot, QA, "role list")[0]
    assert "No feature flags are live" in _answer(bot, QA, "flag list")[0]
    assert "/release status" in _answer(bot, QA, "help")[0]

    bot.fake.wait_quiet()
    assert _counts(bot) == before  # no outbox row, no signature, no audit entry
    # Shown once each, as Slack shows an acknowledgement: nothing came by the response URL.
    shown = bot.fake.ephemerals[told:]
    assert len(shown) == 6 and all(e.user == QA and e.channel == CHANNEL_ID for e in shown)


def test_an_answer_not_ready_in_time_follows_through_the_response_url(hasty: Harness) -> None:
    bot = hasty
    bot.cast()
    bot.run_and_wait(MANAGER, "start v1.4.0")
    before, told = _settled(bot), len(bot.fake.ephemerals_for(QA))
    response = bot.run(QA, "status v1.4.0")
    assert not response.content  # acknowledged empty, at once
    answer = bot.fake.wait_for(lambda: bot.fake.ephemerals_for(QA)[told:])
    assert "v1.4.0" in answer[0].text and "staging" in answer[0].text
    assert bot.run(QA, "help").json()["text"].startswith("*/release commands*")  # no read
    bot.fake.wait_quiet()
    assert len(bot.fake.ephemerals_for(QA)) == told + 2
    assert _counts(bot) == before


def test_an_answer_the_response_url_refuses_is_posted_as_an_ephemeral_message(
    hasty: Harness,
) -> None:
    bot = hasty
    bot.fake.fail_next(RESPONSE_URL, status=500)
    assert not bot.run(QA, "status").content
    told = bot.fake.wait_for(lambda: bot.fake.ephemerals_for(QA))
    assert "No release is open." in told[0].text
    assert [a["user"] for a in bot.fake.sent("chat.postEphemeral")] == [QA]
    bot.fake.wait_quiet()
    assert len(bot.fake.ephemerals_for(QA)) == 1


def test_a_shutdown_waits_for_an_answer_that_follows_its_acknowledgement() -> None:
    worker = Worker(1)
    said: list[str] = []

    def read() -> str:
        time.sleep(0.3)
        return "answer"

    worker.then(worker.read(read), said.append)
    began = time.monotonic()
    worker.shutdown(time.monotonic() + 5)
    assert said == ["answer"]
    assert 0.2 < time.monotonic() - began < 2


def test_a_read_is_not_kept_waiting_by_a_writer_and_sees_only_what_was_committed(
    patient: Harness, database_url: str
) -> None:
    bot = patient
    bot.cast()
    bot.run_and_wait(MANAGER, "start v1.4.0")
    with _writer_holding(database_url, "UPDATE releases SET state = 'cancelled'"):
        status, took = _answer(bot, QA, "status v1.4.0")
    assert took < 1.0, f"the answer waited {took:.2f}s behind a writer"
    assert "cancelled" not in status.lower() and "staging" in status


def test_a_read_the_database_cannot_serve_says_so_and_nothing_else(patient: Harness) -> None:
    bot = patient
    with bot.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE releases RENAME TO releases_gone")
    status, _ = _answer(bot, QA, "status")
    # SQLite reports a missing table as an operational error (as it does a locked or
    # missing file); PostgreSQL as a programming error, which gets a reference to report.
    assert status.startswith(
        ("I cannot reach my database right now, so nothing was done.", "Something went wrong")
    )
    assert "Traceback" not in status and "releases" not in status


#: What every status reads: the version of the readers' cache (then what it has not cached).
LOCK_READS = "LOCK TABLE read_version, releases IN ACCESS EXCLUSIVE MODE"


def test_a_read_the_database_holds_up_is_acknowledged_at_once_and_answered_after(
    bot: Harness, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's readers never wait (WAL); a table lock makes PostgreSQL's wait")
    bot.cast()
    bot.run_and_wait(MANAGER, "start v1.4.0")
    told = len(bot.fake.ephemerals_for(QA))
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(LOCK_READS)
            began = time.monotonic()
            response = bot.run(QA, "status")
            assert time.monotonic() - began < 1.0
            assert not response.content  # an empty acknowledgement: the answer follows
            time.sleep(1.0)
        answer = bot.fake.wait_for(lambda: bot.fake.ephemerals_for(QA)[told:], timeout=5)
        assert "v1.4.0" in answer[0].text  # read once the lock was gone, sent by response URL

        with engine.begin() as conn:  # held past the read's bound: told so, not left waiting
            conn.exec_driver_sql(LOCK_READS)
            assert not bot.run(QA, "status").content
            slow = bot.fake.wait_for(lambda: bot.fake.ephemerals_for(QA)[told + 1 :], timeout=5)
        assert slow[0].text.startswith("My database is slow to answer right now")
    finally:
        engine.dispose()
    bot.fake.wait_quiet()
    assert len(bot.fake.ephemerals_for(QA)) == told + 2  # each said once


def test_every_connection_sends_its_answer_without_waiting_for_the_peers_ack(
    bot: Harness,
) -> None:
    """Nagle's algorithm is off: the answer's body does not wait ~40 ms behind its head."""
    bot.run(QA, "help")  # the simulator keeps its connection open
    connections = list(bot.local.server.server_state.connections)
    assert connections
    for protocol in connections:
        sock = protocol.transport.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


@contextmanager
def _writer_holding(database_url: str, statement: str) -> Iterator[None]:
    """Another process's transaction that has written `statement` and not committed."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        raw = sqlite3.connect(str(url.database), isolation_level=None, timeout=30)
        raw.execute("BEGIN IMMEDIATE")
        raw.execute(statement)
        try:
            yield
        finally:
            raw.execute("ROLLBACK")
            raw.close()
        return
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            conn.execute(text(statement))
            try:
                yield
            finally:
                transaction.rollback()
    finally:
        engine.dispose()


def test_answers_go_on_while_the_one_sqlite_writer_is_busy(patient: Harness) -> None:
    """The writers' one connection held by a slow write: status is still answered."""
    bot = patient
    bot.cast()
    store = bot.local.runtime.services.store
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.transaction() as uow:
            uow.releases(open_only=True)
            held.set()
            release.wait(5)

    writer = threading.Thread(target=hold)
    writer.start()
    try:
        assert held.wait(5)
        status, took = _answer(bot, QA, "status")
        assert took < 1.0
        assert "No release is open." in status
    finally:
        release.set()
        writer.join()


def test_a_read_nobody_waits_for_any_more_is_not_run_and_does_not_hold_up_a_shutdown() -> None:
    worker = Worker(1)
    ran: list[str] = []
    busy = threading.Event()

    def read(name: str, seconds: float) -> None:
        busy.set()
        time.sleep(seconds)
        ran.append(name)

    async def ask() -> None:
        first = asyncio.wrap_future(worker.read(read, "first", 0.3))
        assert busy.wait(2)
        with pytest.raises(TimeoutError):  # queued behind the first, and given up on
            await asyncio.wait_for(asyncio.wrap_future(worker.read(read, "second", 0)), 0.05)
        await first

    asyncio.run(ask())
    began = time.monotonic()
    worker.shutdown(time.monotonic() + 5)
    assert time.monotonic() - began < 0.5
    time.sleep(0.1)
    assert ran == ["first"]


def test_a_status_reads_what_another_writer_changed_a_moment_ago(
    bot: Harness, database_url: str
) -> None:
    """The readers' cache reuses an answer only while its sources are unchanged: a change
    another instance (or an operator) commits shows in the very next status."""
    bot.cast()
    bot.run_and_wait(MANAGER, "start v1.4.0")
    first, _ = _answer(bot, QA, "status")
    assert first == _answer(bot, QA, "status")[0]  # read again, or kept: the same answer
    assert "v1.4.0" in first
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:  # as another instance would: not through this bot
            conn.execute(text("UPDATE releases SET state = 'cancelled' WHERE version = 'v1.4.0'"))
        after, _ = _answer(bot, QA, "status")
        assert "v1.4.0" not in after
        assert "No release is open" in after
    finally:
        engine.dispose()


def test_a_status_after_the_database_dropped_its_connections_is_answered(
    bot: Harness, database_url: str
) -> None:
    """The readers' pool does not ping before each read: a connection the database ended
    (a restart, a failover) fails one read, which is read again on a new connection."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's connections are files: the database cannot drop them")
    bot.cast()
    bot.run_and_wait(MANAGER, "start v1.4.0")
    for _ in range(3):  # the readers' connections open and pooled
        assert "v1.4.0" in _answer(bot, QA, "status")[0]
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            ended = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        assert ended
        answer, _ = _answer(bot, QA, "status")
        assert "v1.4.0" in answer, answer
    finally:
        engine.dispose()


def test_a_status_kept_from_a_later_instant_is_read_again_when_the_clock_goes_back(
    bot: Harness,
) -> None:
    """What is kept for status was read at an instant: the freezes that had not ended by
    then. A clock set back before that instant reads it all again."""
    bot.clock.set(datetime(2026, 11, 1, 9, 0, tzinfo=BRISBANE))
    bot.cast()
    bot.run(MANAGER, "freeze add 2026-11-24 2026-11-27 agency showcase week")
    bot.wait_said("Freeze #1 2026-11-24 to 2026-11-27: agency showcase week")
    bot.clock.set(datetime(2026, 11, 29, 9, 0, tzinfo=BRISBANE))  # after it ended
    assert "No freeze ahead." in _answer(bot, QA, "status")[0]
    bot.clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=BRISBANE))  # back, inside it
    now = _answer(bot, QA, "status")[0]
    assert "agency showcase week (in force now)" in now, now


def test_a_kept_status_is_answered_without_reading_what_it_was_made_of(
    bot: Harness, database_url: str
) -> None:
    """A second status at the same version of its sources is the kept one: it answers while
    a writer holds every release (PostgreSQL's readers would wait for that lock)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's readers never wait (WAL): a lock shows nothing")
    bot.cast()
    bot.run_and_wait(MANAGER, "start v1.4.0")
    first, _ = _answer(bot, QA, "status")
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("LOCK TABLE releases IN ACCESS EXCLUSIVE MODE")
            kept, took = _answer(bot, QA, "status")
        assert kept == first
        assert "v1.4.0" in kept and took < 0.5
    finally:
        engine.dispose()
