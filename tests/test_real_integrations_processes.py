"""A real `python app.py` with real integrations, killed in the middle of a promotion."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.console.fake_slack import FakeSlack
from tests import processes
from tests.fakes.outside import Outside, outside
from tests.processes import approve_review, grant_roles, said, scalar
from tests.processes import url as url  # a fixture: SQLite, and PostgreSQL where there is one


@pytest.fixture
def world() -> Iterator[Outside]:
    # Production takes 24 looks (12 s at one look every half second) to serve a promotion.
    with outside(switch_after_polls=24) as world:
        yield world


class Bot(processes.Bot):
    """A bot on `world`'s real integrations, looking at them every half second."""

    def __init__(self, home: Path, fake: FakeSlack, url: str, world: Outside) -> None:
        super().__init__(home, fake, url, **{**world.env(), "INTEGRATION_POLL_SECONDS": "0.5"})


def _to_approved(bot: Bot, fake: FakeSlack) -> None:
    grant_roles(bot.sim, fake)
    bot.sim.command("UMANAGER", "start v1.4.0")
    fake.wait_for(lambda: said(fake, "Regression *passed*"), timeout=30)
    approve_review(fake, bot.sim)


def test_a_bot_killed_while_production_switches_finishes_the_promotion_once(
    tmp_path: Path, fake: FakeSlack, url: str, world: Outside
) -> None:
    logs = []
    first = Bot(tmp_path, fake, url, world)
    try:
        _to_approved(first, fake)
        staging = scalar(url, "SELECT staging_deployment_id FROM releases")
        first.sim.command("UMANAGER", "promote v1.4.0")
        fake.wait_for(lambda: world.vercel.promotions, timeout=20)
        time.sleep(1)  # following the promotion: production does not serve it yet
        assert world.vercel.production_id == world.previous_production
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
        assert scalar(url, "SELECT state FROM releases") == "deploying"
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
        assert scalar(url, "SELECT COUNT(*) FROM deployments WHERE outcome = 'succeeded'") == 1
        assert scalar(url, "SELECT holder FROM deploy_locks") is None
    finally:
        logs.append(second.stop())
    assert all("Traceback" not in log for log in logs), logs
    for log in logs:  # no token reaches a log
        assert world.github.token not in log and world.vercel.token not in log
