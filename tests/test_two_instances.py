"""Two instances of the bot on one PostgreSQL database: one deploy, one post."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from bot.console.fake_slack import FakeSlack
from bot.console.simulator import SlackSimulator
from tests.processes import (
    ALWAYS_OPEN,
    CHANNEL,
    SECRET,
    approve_review,
    free_port,
    grant_roles,
    launch,
    said,
    stop,
    wait_healthy,
)

pytestmark = pytest.mark.postgres


def test_two_instances_promoting_at_once_run_one_production_deploy(
    tmp_path: Path, fake: FakeSlack, postgres_url: str
) -> None:
    ports = [free_port(), free_port()]
    env = {
        **ALWAYS_OPEN,
        "DATABASE_URL": postgres_url,
        "DRY_RUN_DEPLOY_SECONDS": "3",
        "SCHEDULER_TICK_SECONDS": "3600",
    }
    processes = [launch(tmp_path, fake, PORT=str(port), **env) for port in ports]
    try:
        for process, port in zip(processes, ports, strict=True):
            wait_healthy(process, port)
        a, b = (
            SlackSimulator(f"http://127.0.0.1:{port}/slack/events", SECRET, fake, CHANNEL)
            for port in ports
        )
        grant_roles(a, fake)
        a.command("UMANAGER", "start v1.4.0")
        fake.wait_for(lambda: said(fake, "*v1.4.0* is on staging"), timeout=20)
        b.command("UQA", "regression v1.4.0 pass <https://ci.example.com/r/1>")
        approve_review(fake, b, a)  # the clicks land on both instances in turn

        barrier = threading.Barrier(2)

        def promote(sim: SlackSimulator) -> None:
            barrier.wait()
            sim.command("UMANAGER", "promote v1.4.0")

        threads = [threading.Thread(target=promote, args=(s,)) for s in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        refusal = fake.wait_for(
            lambda: next(
                (e.text for e in fake.ephemerals_for("UMANAGER") if "cannot be promoted" in e.text),
                None,
            ),
            timeout=20,
        )
        assert "another production deploy is in flight (v1.4.0" in refusal or (
            "not approved: v1.4.0 is `deploying`" in refusal
        )
        fake.wait_for(lambda: said(fake, ":tada: *v1.4.0* is released"), timeout=30)
        time.sleep(0.5)
        assert len(said(fake, ":rocket:")) == 1
        assert len(said(fake, ":tada:")) == 1
        engine = create_engine(postgres_url)
        with engine.connect() as conn:
            promotions = conn.execute(
                text("SELECT COUNT(*) FROM audit_events WHERE action = 'command.promote'")
            ).scalar_one()
            holder = conn.execute(text("SELECT holder FROM deploy_locks")).scalar_one()
        engine.dispose()
        assert promotions == 1
        assert holder is None
        a.close()
        b.close()
    finally:
        logs = [stop(p) for p in processes]
    assert all("Traceback" not in log for log in logs), logs


def test_two_instances_send_a_due_post_exactly_once(
    tmp_path: Path, fake: FakeSlack, postgres_url: str
) -> None:
    brisbane = ZoneInfo("Australia/Brisbane")
    now = datetime.now(UTC).astimezone(brisbane)
    opens = (now + timedelta(minutes=60)).replace(second=0, microsecond=0)  # due this minute
    env = {
        "DATABASE_URL": postgres_url,
        "RELEASE_WINDOW_DAYS": "mon,tue,wed,thu,fri,sat,sun",
        "RELEASE_WINDOW_START": opens.strftime("%H:%M"),
        "SCHEDULER_TICK_SECONDS": "1",
    }
    # The bot has run on this database before (since an hour ago), so this minute's post is
    # one it knows about, not one from before its first start.
    from storage.db import make_engine
    from storage.migrate import upgrade

    engine = make_engine(postgres_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO bot_facts (name, at) VALUES ('first_tick', :at)"),
            {"at": datetime.now(UTC) - timedelta(hours=1)},
        )
    engine.dispose()
    ports = [free_port(), free_port()]
    processes = [launch(tmp_path, fake, PORT=str(port), **env) for port in ports]
    try:
        for process, port in zip(processes, ports, strict=True):
            wait_healthy(process, port)
        fake.wait_for(lambda: said(fake, ":alarm_clock: The release window opens"), timeout=20)
        time.sleep(4)  # both instances keep ticking every second; nothing more may appear
        posts = said(fake, ":alarm_clock: The release window opens")
        assert len(posts) == 1, posts
        assert f"opens {opens:%a %d %b %Y %H:%M} AEST" in posts[0]
        engine = create_engine(postgres_url)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT status, claimed_by FROM scheduled_posts WHERE kind = 'pre_window'")
            ).all()
        engine.dispose()
        assert len(rows) == 1 and rows[0][0] == "sent"
    finally:
        logs = [stop(p) for p in processes]
    assert all("Traceback" not in log for log in logs), logs
