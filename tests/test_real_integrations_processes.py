"""A real `python app.py` with real integrations, killed in the middle of a promotion."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.console.fake_slack import FakeSlack
from bot.console.simulator import SlackSimulator
from tests.fakes.outside import Outside, outside
from tests.processes import (
    ALWAYS_OPEN,
    CHANNEL,
    SECRET,
    free_port,
    launch,
    said,
    stop,
    wait_healthy,
)

CAST = {
    "UMANAGER": "release_manager",
    "UQA": "qa",
    "UTL": "tech_lead",
    "UCS": "client_success",
    "USEC": "security",
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/release_bot.sqlite3"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def world() -> Iterator[Outside]:
    # Production takes 24 looks (12 s at one look every half second) to serve a promotion.
    with outside(switch_after_polls=24) as world:
        yield world


def _scalar(url: str, sql: str) -> object:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


class Bot:
    def __init__(self, home: Path, fake: FakeSlack, url: str, world: Outside) -> None:
        self.port = free_port()
        env = {
            **world.env(),
            **ALWAYS_OPEN,
            "DATABASE_URL": url,
            "PORT": str(self.port),
            "SCHEDULER_TICK_SECONDS": "3600",
            "JOB_LEASE_SECONDS": "3",
            "SLACK_TIMEOUT_SECONDS": "2",
            "INTEGRATION_POLL_SECONDS": "0.5",
        }
        self.process = launch(home, fake, **env)
        wait_healthy(self.process, self.port)
        self.sim = SlackSimulator(
            f"http://127.0.0.1:{self.port}/slack/events", SECRET, fake, CHANNEL
        )

    def stop(self) -> str:
        self.sim.close()
        return stop(self.process)


def _to_approved(bot: Bot, fake: FakeSlack) -> None:
    for user, role in CAST.items():
        bot.sim.command("UADMIN", f"role add <@{user}> {role}")
        fake.wait_for(partial(said, fake, f"granted <@{user}>"))
    bot.sim.command("UMANAGER", "start v1.4.0")
    fake.wait_for(lambda: said(fake, "Regression *passed*"), timeout=30)
    review = fake.wait_for(
        lambda: next(
            (m for m in fake.channel_messages(CHANNEL) if m.text.startswith("Readiness review")),
            None,
        ),
        timeout=20,
    )
    for user in ("UTL", "UQA", "UCS", "USEC"):
        bot.sim.click(user, fake.messages[(review.channel, review.ts)], "review_approve")
        fake.wait_for(
            partial(
                lambda who: any(
                    "Recorded your approval" in e.text for e in fake.ephemerals_for(who)
                ),
                user,
            )
        )
    fake.wait_for(lambda: said(fake, "*v1.4.0* is approved"))


def test_a_bot_killed_while_production_switches_finishes_the_promotion_once(
    tmp_path: Path, fake: FakeSlack, url: str, world: Outside
) -> None:
    logs = []
    first = Bot(tmp_path, fake, url, world)
    try:
        _to_approved(first, fake)
        staging = _scalar(url, "SELECT staging_deployment_id FROM releases")
        first.sim.command("UMANAGER", "promote v1.4.0")
        fake.wait_for(lambda: world.vercel.promotions, timeout=20)
        time.sleep(1)  # following the promotion: production does not serve it yet
        assert world.vercel.production_id == world.previous_production
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
        assert _scalar(url, "SELECT state FROM releases") == "deploying"
    finally:
        logs.append(first.stop())
    second = Bot(tmp_path, fake, url, world)
    try:
        fake.wait_for(lambda: said(fake, ":tada: *v1.4.0* is released"), timeout=60)
        fake.wait_for(lambda: said(fake, "*v1.4.0* follow-up"), timeout=30)
        time.sleep(1)
        assert world.vercel.promotions == [staging]  # never promoted twice
        assert world.vercel.production_id == staging
        for fragment in (":rocket:", "is live", ":tada:", "follow-up"):
            assert len(said(fake, fragment)) == 1, fragment
        assert len(world.mailbox.received) == 1
        assert (world.github.file("CHANGELOG.md") or "").count("## v1.4.0") == 1
        assert _scalar(url, "SELECT COUNT(*) FROM deployments WHERE outcome = 'succeeded'") == 1
        assert _scalar(url, "SELECT holder FROM deploy_locks") is None
    finally:
        logs.append(second.stop())
    assert all("Traceback" not in log for log in logs), logs
    for log in logs:  # no token reaches a log
        assert world.github.token not in log and world.vercel.token not in log
