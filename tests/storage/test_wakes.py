"""A commit wakes the pump it gave work to, and only that one: the outbox's sender for a new
message, the release jobs' runner for a new job, neither for a commit that adds neither."""

from __future__ import annotations

from datetime import UTC, datetime

from release.clock import FixedClock
from storage.db import make_engine
from storage.unit_of_work import Store


def test_a_commit_wakes_only_the_pump_it_gave_work_to(database_url: str) -> None:
    engine = make_engine(database_url)
    store = Store(engine, FixedClock(datetime(2026, 11, 24, 0, 30, tzinfo=UTC)))
    woken: list[str] = []
    store.after_messages(lambda: woken.append("sender"))
    store.after_jobs(lambda: woken.append("runner"))
    try:
        with store.transaction() as uow:
            uow.add_message("reply:1", "reply", {"text": "hello"})
        assert woken == ["sender"]

        with store.transaction() as uow:
            uow.add_job("notes", None, actor="U1", step="generate", data={})
        assert woken == ["sender", "runner"]

        with store.transaction() as uow:
            uow.add_message("reply:2", "reply", {"text": "again"})
            uow.add_job("notes", None, actor="U1", step="generate", data={})
        assert woken == ["sender", "runner", "sender", "runner"]

        with store.transaction() as uow:
            uow.releases()
        with store.reading() as uow:
            uow.releases()
        assert woken == ["sender", "runner", "sender", "runner"]
    finally:
        store.dispose()
