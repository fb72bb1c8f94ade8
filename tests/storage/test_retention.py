"""24 months' retention: the bot purges what is older, the database refuses anything younger.

The database's triggers (migration 0010) judge age by the database's own clock, so rows
here are dated relative to the real time now, and the bot's clock is set to match (or,
to show the database overruling the bot, far ahead of it).
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, cast

import pytest
from alembic import command
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from bot.scheduler import Ticker
from bot.services import Services
from release.audit import AuditAction
from release.clock import FixedClock
from release.retention import months_earlier, retention_cutoff
from storage import models
from storage.db import make_engine
from storage.migrate import MIGRATIONS, alembic_config, upgrade
from storage.retention import SKEW_MARGIN, PurgeReport, purge_expired_rows
from storage.unit_of_work import Store

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
POSTGRES_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
PURGED = AuditAction.RETENTION_PURGED.value


def _migration() -> ModuleType:
    path = MIGRATIONS / "versions" / "0010_retention.py"
    spec = importlib.util.spec_from_file_location("migration_0010_retention", Path(path))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def now() -> datetime:
    """The real time (the database's clock), to the microsecond."""
    return datetime.now(UTC)


@pytest.fixture
def release_id(engine: Engine, now: datetime) -> int:
    with Store(engine, FixedClock(now)).transaction() as uow:
        return uow.add_release("1.0.0", kind="regular", branch="release/1.0.0", started_by="U1").id


def _record(engine: Engine, release_id: int, at: datetime, actor: str = "UALICE") -> None:
    """An audit row and an artefact, recorded the bot's way by a bot whose clock says `at`."""
    with Store(engine, FixedClock(at)).transaction() as uow:
        uow.audit(actor, AuditAction.COMMAND_START, release_id, detail="x")
        uow.record_artefact(release_id, "regression_report", by=actor, outcome="passed")


def _ids(engine: Engine, table: str, actor: str) -> list[int]:
    column = "actor" if table == "audit_events" else "recorded_by"
    with engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT id FROM {table} WHERE {column} = :a ORDER BY id"), {"a": actor}
        )
        return list(rows.scalars())


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _purges(engine: Engine) -> list[dict[str, Any]]:
    """The details of every `retention.purged` audit row, oldest first."""
    query = (
        select(models.AuditEvent.details)
        .where(models.AuditEvent.action == PURGED)
        .order_by(models.AuditEvent.id)
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def _refused(engine: Engine, statement: str, match: str = "append-only", **params: Any) -> None:
    before = (_count(engine, "audit_events"), _count(engine, "artefacts"))
    with pytest.raises(DBAPIError, match=match), engine.begin() as conn:
        conn.execute(text(statement), params)
    assert (_count(engine, "audit_events"), _count(engine, "artefacts")) == before


def _downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


# --- the domain: 24 calendar months -------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "months", "earlier"),
    [
        (datetime(2026, 11, 26, 6, 5, 58, 123456), 24, datetime(2024, 11, 26, 6, 5, 58, 123456)),
        (datetime(2028, 2, 29, 10, 0), 24, datetime(2026, 2, 28, 10, 0)),  # clamped
        (datetime(2028, 2, 29, 10, 0), 48, datetime(2024, 2, 29, 10, 0)),  # a leap year
        (datetime(2026, 3, 31), 1, datetime(2026, 2, 28)),
        (datetime(2028, 3, 31), 1, datetime(2028, 2, 29)),
        (datetime(2027, 1, 15), 24, datetime(2025, 1, 15)),
        (datetime(2027, 1, 31), 13, datetime(2025, 12, 31)),
        (datetime(2027, 5, 5), 0, datetime(2027, 5, 5)),
    ],
)
def test_months_earlier_is_the_same_day_clamped_to_the_month(
    moment: datetime, months: int, earlier: datetime
) -> None:
    assert months_earlier(moment.replace(tzinfo=UTC), months) == earlier.replace(tzinfo=UTC)


def test_the_cutoff_is_24_utc_months_before_now() -> None:
    assert retention_cutoff(datetime(2028, 2, 29, 23, 30, tzinfo=UTC)) == datetime(
        2026, 2, 28, 23, 30, tzinfo=UTC
    )
    # 1 March 00:30 in UTC+1 is still 29 February in UTC.
    plus_one = timezone(timedelta(hours=1))
    assert retention_cutoff(datetime(2028, 3, 1, 0, 30, tzinfo=plus_one)) == datetime(
        2026, 2, 28, 23, 30, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        retention_cutoff(datetime(2028, 2, 29))
    with pytest.raises(ValueError, match="negative"):
        months_earlier(datetime(2028, 2, 29, tzinfo=UTC), -1)


@pytest.mark.parametrize(
    "instant",
    [
        datetime(2028, 2, 29, 10, 0, 1),
        datetime(2028, 3, 1, 0, 0),
        datetime(2026, 11, 26, 6, 5, 58),
        datetime(2027, 3, 31, 23, 59, 59),
        datetime(2027, 12, 31, 12, 0),
        datetime(2028, 1, 1, 0, 0),
    ],
)
def test_the_database_counts_24_months_as_the_bot_does(engine: Engine, instant: datetime) -> None:
    """The triggers' cutoff expression, with a given instant for the database's `now`."""
    migration = _migration()
    if engine.dialect.name == "sqlite":
        query = f"SELECT {migration.sqlite_cutoff(':t')}"
        value = instant.strftime("%Y-%m-%d %H:%M:%S")
    else:
        query = "SELECT " + migration.PG_CUTOFF.replace("now()", "CAST(:t AS timestamptz)")
        value = instant.strftime("%Y-%m-%d %H:%M:%S+00")
    with engine.connect() as conn:
        # The PostgreSQL session's zone must not matter: the months are counted in UTC.
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET TIME ZONE 'Europe/London'"))
        cutoff = conn.execute(text(query), {"t": value}).scalar_one()
    if isinstance(cutoff, str):
        cutoff = datetime.fromisoformat(cutoff).replace(tzinfo=UTC)
    assert cutoff == retention_cutoff(instant.replace(tzinfo=UTC))


# --- the bot's purge -----------------------------------------------------------------


def test_rows_older_than_24_months_are_purged_and_the_purge_audited(
    engine: Engine, release_id: int, now: datetime
) -> None:
    _record(engine, release_id, months_earlier(now, 25), "UOLD")
    # Just past 24 months and the day's margin for clock skew; within it, still kept.
    _record(engine, release_id, months_earlier(now, 24) - timedelta(days=1, minutes=5), "UJUST")
    _record(engine, release_id, months_earlier(now, 24) - timedelta(hours=23), "UMARGIN")
    _record(engine, release_id, months_earlier(now, 23), "UYOUNG")
    _record(engine, release_id, months_earlier(now, 24) + timedelta(minutes=5), "UALMOST")
    store = Store(engine, FixedClock(now))

    report = purge_expired_rows(store)

    assert report == PurgeReport(
        (retention_cutoff(now) - SKEW_MARGIN), audit_rows=2, artefacts=2, batches=1
    )
    for table in ("audit_events", "artefacts"):
        assert _ids(engine, table, "UOLD") == _ids(engine, table, "UJUST") == []
        assert len(_ids(engine, table, "UYOUNG")) == len(_ids(engine, table, "UALMOST")) == 1
        assert len(_ids(engine, table, "UMARGIN")) == 1
    assert _purges(engine) == [
        {
            "audit_rows": 2,
            "artefacts": 2,
            "before": (retention_cutoff(now) - SKEW_MARGIN).isoformat(),
        }
    ]
    with engine.connect() as conn:
        actor, release = conn.execute(
            text("SELECT actor, release_id FROM audit_events WHERE action = :a"), {"a": PURGED}
        ).one()
    assert (actor, release) == ("release-bot", None)
    assert _count(engine, "releases") == 1  # releases are never purged

    # Nothing left to purge: the next run deletes nothing and records nothing.
    assert purge_expired_rows(store) == PurgeReport(retention_cutoff(now) - SKEW_MARGIN)
    assert len(_purges(engine)) == 1


def test_a_backlog_is_purged_in_batches_each_audited(
    engine: Engine, release_id: int, now: datetime
) -> None:
    """12 old rows (6 audit rows, 6 artefacts), 5 per transaction: 3 batches, 3 audit rows."""
    for _ in range(6):
        _record(engine, release_id, months_earlier(now, 30), "UOLD")
    _record(engine, release_id, months_earlier(now, 1), "UYOUNG")

    report = purge_expired_rows(Store(engine, FixedClock(now)), batch=5)

    assert (report.audit_rows, report.artefacts, report.batches, report.refused) == (6, 6, 3, "")
    before = (retention_cutoff(now) - SKEW_MARGIN).isoformat()
    assert _purges(engine) == [  # artefacts first, then audit rows; at most 5 a transaction
        {"audit_rows": 0, "artefacts": 5, "before": before},
        {"audit_rows": 4, "artefacts": 1, "before": before},
        {"audit_rows": 2, "artefacts": 0, "before": before},
    ]
    assert _ids(engine, "audit_events", "UOLD") == _ids(engine, "artefacts", "UOLD") == []
    assert len(_ids(engine, "audit_events", "UYOUNG")) == 1


def test_a_run_out_of_time_leaves_the_rest_for_the_next(
    engine: Engine, release_id: int, now: datetime
) -> None:
    for _ in range(6):
        _record(engine, release_id, months_earlier(now, 30), "UOLD")
    store = Store(engine, FixedClock(now))

    first = purge_expired_rows(store, batch=5, seconds=0)  # one batch, then out of time
    assert (first.artefacts, first.audit_rows, first.batches, first.more) == (5, 0, 1, True)
    second = purge_expired_rows(store, batch=5)
    assert (second.artefacts, second.audit_rows, second.batches, second.more) == (1, 6, 2, False)
    assert _ids(engine, "audit_events", "UOLD") == _ids(engine, "artefacts", "UOLD") == []


def test_a_purge_the_database_refuses_is_rolled_back_and_reported_not_raised(
    engine: Engine, release_id: int, now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    """The bot's clock is ten years ahead: it picks rows the database still counts young."""
    for _ in range(3):
        _record(engine, release_id, months_earlier(now, 30), "UOLD")  # old on both clocks
    _record(engine, release_id, months_earlier(now, 1), "UYOUNG")  # old only by the bot's
    ahead = Store(engine, FixedClock(now + timedelta(days=3653)))

    with caplog.at_level(logging.WARNING, logger="storage.retention"):
        report = purge_expired_rows(ahead, batch=3)

    # The first batch (3 old artefacts) went, audited; the second (starting with an
    # artefact the database counts young) was refused and rolled back whole.
    assert (report.artefacts, report.audit_rows, report.batches) == (3, 0, 1)
    assert "younger than 24 months" in report.refused
    assert len(_ids(engine, "audit_events", "UOLD")) == 3
    assert _ids(engine, "artefacts", "UOLD") == []
    assert len(_ids(engine, "artefacts", "UYOUNG")) == len(_ids(engine, "audit_events", "UYOUNG"))
    assert len(_ids(engine, "artefacts", "UYOUNG")) == 1
    assert [p["artefacts"] for p in _purges(engine)] == [3]
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "refused and rolled back" in warning.getMessage()
    assert "younger than 24 months" in warning.getMessage()
    assert warning.exc_info is None

    # By the right clock the next run purges what is really old, and keeps the rest.
    report = purge_expired_rows(Store(engine, FixedClock(now)))
    assert (report.audit_rows, report.artefacts, report.refused) == (3, 0, "")
    assert len(_ids(engine, "artefacts", "UYOUNG")) == 1


def test_two_instances_purging_at_once_both_succeed(
    engine: Engine, release_id: int, now: datetime
) -> None:
    for _ in range(20):
        _record(engine, release_id, months_earlier(now, 30), "UOLD")
    stores = [Store(engine, FixedClock(now)) for _ in range(2)]
    reports: list[PurgeReport] = []
    start = threading.Barrier(2)

    def run(store: Store) -> None:
        start.wait()
        reports.append(purge_expired_rows(store, batch=3))

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [r.refused for r in reports] == ["", ""]
    assert sum(r.audit_rows for r in reports) == sum(r.artefacts for r in reports) == 20
    assert _ids(engine, "audit_events", "UOLD") == _ids(engine, "artefacts", "UOLD") == []
    assert sum(p["audit_rows"] + p["artefacts"] for p in _purges(engine)) == 40


# --- the database's own guard: raw SQL, as a person with database access ------------


def test_the_database_refuses_changing_or_deleting_young_rows(
    engine: Engine, release_id: int, now: datetime
) -> None:
    _record(engine, release_id, months_earlier(now, 23), "UYOUNG")
    _record(engine, release_id, months_earlier(now, 30), "UOLD")
    [young_audit], [old_audit] = (
        _ids(engine, "audit_events", "UYOUNG"),
        _ids(engine, "audit_events", "UOLD"),
    )
    [young_art], [old_art] = _ids(engine, "artefacts", "UYOUNG"), _ids(engine, "artefacts", "UOLD")

    for statement, row in [
        ("DELETE FROM audit_events WHERE id = :id", young_audit),
        ("DELETE FROM audit_events", None),  # the old row does not carry the young one
        ("UPDATE audit_events SET actor = 'UMALLORY' WHERE id = :id", old_audit),
        ("DELETE FROM artefacts WHERE id = :id", young_art),
        ("DELETE FROM artefacts", None),
        ("UPDATE artefacts SET outcome = 'failed' WHERE id = :id", young_art),
        ("UPDATE artefacts SET outcome = 'failed' WHERE id = :id", old_art),
        ("UPDATE artefacts SET recorded_at = '2001-01-01 00:00:00' WHERE id = :id", young_art),
    ]:
        _refused(engine, statement, id=row)

    with engine.begin() as conn:  # an old row may go, by anyone
        assert conn.execute(text("DELETE FROM artefacts WHERE id = :id"), {"id": old_art}).rowcount
        deleted = conn.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": old_audit})
        assert deleted.rowcount == 1
    assert _ids(engine, "artefacts", "UYOUNG") == [young_art]
    assert _ids(engine, "audit_events", "UYOUNG") == [young_audit]


def test_a_row_dated_in_the_future_or_unreadable_counts_as_young(
    engine: Engine, release_id: int, now: datetime
) -> None:
    _record(engine, release_id, now + timedelta(days=400), "UFUTURE")
    [art] = _ids(engine, "artefacts", "UFUTURE")
    _refused(engine, "DELETE FROM artefacts WHERE id = :id", id=art)
    if engine.dialect.name == "sqlite":  # text a julianday() cannot read: fail closed
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO artefacts (release_id, kind, outcome, url, recorded_by, "
                    "recorded_at, details) VALUES (:r, 'x', '', '', 'UJUNK', 'not a date', '{}')"
                ),
                {"r": release_id},
            )
        [junk] = _ids(engine, "artefacts", "UJUNK")
        _refused(engine, "DELETE FROM artefacts WHERE id = :id", id=junk)


@SQLITE_ONLY
def test_sqlite_refuses_replacing_an_artefact(
    engine: Engine, release_id: int, now: datetime
) -> None:
    _record(engine, release_id, months_earlier(now, 30), "UOLD")
    [art] = _ids(engine, "artefacts", "UOLD")
    columns = "id, release_id, kind, outcome, url, recorded_by, recorded_at, details"
    rewrite = (
        "SELECT id, release_id, kind, 'failed', url, recorded_by, recorded_at, details "
        "FROM artefacts WHERE id = :id"
    )
    for verb in ("REPLACE", "INSERT OR REPLACE"):
        _refused(engine, f"{verb} INTO artefacts ({columns}) {rewrite}", id=art)
    _refused(
        engine,
        f"INSERT INTO artefacts ({columns}) {rewrite} "
        "ON CONFLICT (id) DO UPDATE SET outcome = excluded.outcome",
        id=art,
    )
    _refused(
        engine,
        f"INSERT INTO artefacts ({columns}) SELECT -1, release_id, kind, outcome, url, "
        "recorded_by, recorded_at, details FROM artefacts WHERE id = :id",
        match="ids start at 1",
        id=art,
    )


@pytest.mark.postgres
@POSTGRES_ONLY
@pytest.mark.parametrize(
    "statement", ["TRUNCATE artefacts", "TRUNCATE audit_events", "TRUNCATE releases CASCADE"]
)
def test_postgresql_refuses_truncating_old_rows_too(
    engine: Engine, release_id: int, now: datetime, statement: str
) -> None:
    _record(engine, release_id, months_earlier(now, 30), "UOLD")
    _refused(engine, statement)


def test_downgrading_restores_the_previous_triggers(
    engine: Engine, release_id: int, now: datetime
) -> None:
    _record(engine, release_id, months_earlier(now, 30), "UOLD")
    [old_audit] = _ids(engine, "audit_events", "UOLD")
    [old_art] = _ids(engine, "artefacts", "UOLD")
    _downgrade(engine, "0009")
    _refused(engine, "DELETE FROM audit_events WHERE id = :id", id=old_audit)  # every delete
    with engine.begin() as conn:  # artefacts were not protected before
        conn.execute(text("UPDATE artefacts SET outcome = 'x' WHERE id = :id"), {"id": old_art})
    upgrade(engine)
    _refused(engine, "UPDATE artefacts SET outcome = 'y' WHERE id = :id", id=old_art)
    assert purge_expired_rows(Store(engine, FixedClock(now))).audit_rows == 1


# --- the schedule -------------------------------------------------------------------


def test_the_ticker_purges_at_start_up_and_then_hourly(
    engine: Engine, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(engine, FixedClock(now))
    ticker = Ticker(cast(Services, SimpleNamespace(store=store)), 30)
    # Paused: the jobs are scheduled (and given the ticker's defaults) but none runs here.
    monkeypatch.setattr(ticker._scheduler, "start", partial(ticker._scheduler.start, paused=True))
    ticker.start()
    try:
        job = ticker._scheduler.get_job("retention")
        assert job is not None
        assert job.trigger.interval == timedelta(hours=1)
        assert abs(job.next_run_time - datetime.now(UTC)) < timedelta(minutes=1)
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, None)
    finally:
        ticker.stop()


def test_the_ticker_job_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    broken = SimpleNamespace(transaction=lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    ticker = Ticker(cast(Services, SimpleNamespace(store=broken)), 30)
    with caplog.at_level(logging.ERROR, logger="bot.scheduler"):
        ticker.purge()
    assert "could not purge" in caplog.text
