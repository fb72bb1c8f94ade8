"""Real `python app.py` processes killed mid-step: the release resumes and nothing happens twice."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from bot.console.fake_slack import FakeSlack
from tests import processes
from tests.processes import approve_review, grant_roles, said, scalar
from tests.processes import url as url  # a fixture: SQLite, and PostgreSQL where there is one


class Bot(processes.Bot):
    """A bot whose dry-run deploys take 4 seconds unless told otherwise."""

    def __init__(self, home: Path, fake: FakeSlack, url: str, **extra: str) -> None:
        super().__init__(home, fake, url, **{"DRY_RUN_DEPLOY_SECONDS": "4", **extra})


def _to_staging(bot: Bot, fake: FakeSlack) -> None:
    grant_roles(bot.sim, fake)
    bot.sim.command("UMANAGER", "start v1.4.0")


def _staged_once(fake: FakeSlack, url: str) -> None:
    """v1.4.0 went to staging exactly once: started and announced once, deployed once."""
    for fragment in ("started *v1.4.0*", "*v1.4.0* is on staging"):
        assert len(said(fake, fragment)) == 1, fragment
    assert scalar(url, "SELECT COUNT(*) FROM artefacts WHERE kind = 'staging_deploy'") == 1
    assert scalar(url, "SELECT state FROM releases") == "staging"


def _approve(bot: Bot, fake: FakeSlack) -> None:
    fake.wait_for(lambda: said(fake, "*v1.4.0* is on staging"), timeout=30)
    bot.sim.command("UQA", "regression v1.4.0 pass <https://ci.example.com/r/1>")
    approve_review(fake, bot.sim)


def test_a_bot_killed_during_the_staging_deploy_finishes_it_after_a_restart(
    tmp_path: Path, fake: FakeSlack, url: str
) -> None:
    first = Bot(tmp_path, fake, url)
    logs = []
    try:
        _to_staging(first, fake)
        fake.wait_for(lambda: said(fake, "started *v1.4.0*"))
        time.sleep(1.5)  # inside the 4-second staging deploy
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
        assert scalar(url, "SELECT state FROM releases") == "planned"
    finally:
        logs.append(first.stop())
    second = Bot(tmp_path, fake, url)
    try:
        fake.wait_for(lambda: said(fake, "*v1.4.0* is on staging"), timeout=30)
        time.sleep(1)
        _staged_once(fake, url)
    finally:
        logs.append(second.stop())
    assert all("Traceback" not in log for log in logs), logs


def test_sigterm_during_a_production_deploy_exits_in_time_and_the_restart_releases_it(
    tmp_path: Path, fake: FakeSlack, url: str
) -> None:
    first = Bot(tmp_path, fake, url)
    logs = []
    try:
        _to_staging(first, fake)
        _approve(first, fake)
        first.sim.command("UMANAGER", "promote v1.4.0")
        fake.wait_for(lambda: said(fake, ":rocket:"), timeout=20)
        time.sleep(1)  # inside the 4-second production deploy
        began = time.monotonic()
        first.process.send_signal(signal.SIGTERM)
        first.process.wait(30)
        assert time.monotonic() - began < 25
        # It was not reaped to `failed`: it is mid-flight, and resumable.
        assert scalar(url, "SELECT state FROM releases") in ("deploying", "verifying")
    finally:
        logs.append(first.stop())
    second = Bot(tmp_path, fake, url)
    try:
        fake.wait_for(lambda: said(fake, ":tada: *v1.4.0* is released"), timeout=40)
        time.sleep(1)
        assert scalar(url, "SELECT state FROM releases") == "released"
        assert len(said(fake, ":rocket:")) == 1
        assert len(said(fake, ":tada:")) == 1
        assert scalar(url, "SELECT COUNT(*) FROM deployments") == 1
        assert scalar(url, "SELECT outcome FROM deployments") == "succeeded"
        assert scalar(url, "SELECT holder FROM deploy_locks") is None
    finally:
        logs.append(second.stop())
    assert "handed" in logs[0] or "stopped" in logs[0], logs[0]
    assert all("Traceback" not in log for log in logs), logs


def test_a_live_instance_takes_over_a_promotion_whose_instance_was_killed(
    tmp_path: Path, fake: FakeSlack, url: str
) -> None:
    first, second = Bot(tmp_path, fake, url), Bot(tmp_path, fake, url)
    logs = []
    try:
        _to_staging(first, fake)
        _approve(first, fake)
        first.sim.command("UMANAGER", "promote v1.4.0")
        fake.wait_for(lambda: said(fake, ":rocket:"), timeout=20)
        deadline = time.monotonic() + 20
        while scalar(url, "SELECT claimed_by FROM jobs WHERE kind = 'promote'") is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        holder = scalar(url, "SELECT claimed_by FROM jobs WHERE kind = 'promote'")
        victim = first if str(first.process.pid) in str(holder) else second
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(10)
        fake.wait_for(lambda: said(fake, ":tada: *v1.4.0* is released"), timeout=40)
        time.sleep(1)
        assert len(said(fake, ":tada:")) == 1
        assert scalar(url, "SELECT COUNT(*) FROM deployments") == 1
        assert scalar(url, "SELECT state FROM releases") == "released"
    finally:
        logs += [first.stop(), second.stop()]
    assert all("Traceback" not in log for log in logs), logs


#: Every step of the killed bots takes 3 seconds: time to kill one in the middle of it.
SLOW_STEPS = {"DRY_RUN_STEP_SECONDS": "3", "DRY_RUN_DEPLOY_SECONDS": "3"}


def _job_at(url: str, kind: str, step: str) -> bool:
    row = scalar(
        url, f"SELECT step || ':' || COALESCE(claimed_by, '') FROM jobs WHERE kind = '{kind}'"
    )
    return isinstance(row, str) and row.startswith(f"{step}:") and not row.endswith(":")


def _kill_at_each_step(
    tmp_path: Path, fake: FakeSlack, url: str, kind: str, steps: tuple[str, ...], bot: Bot
) -> tuple[Bot, list[str]]:
    """Kill the bot with SIGKILL while each step of `kind` runs; restart it each time."""
    logs = []
    for step in steps:
        deadline = time.monotonic() + 30
        while not _job_at(url, kind, step):
            assert time.monotonic() < deadline, f"{kind} never reached {step}"
            time.sleep(0.05)
        time.sleep(0.5)  # well inside the step's 3 seconds
        bot.process.send_signal(signal.SIGKILL)
        bot.process.wait(10)
        logs.append(bot.stop())
        bot = Bot(tmp_path, fake, url, **SLOW_STEPS)
    return bot, logs


def test_kill_9_at_every_step_of_staging_does_each_once(
    tmp_path: Path, fake: FakeSlack, url: str
) -> None:
    bot = Bot(tmp_path, fake, url, **SLOW_STEPS)
    logs = []
    try:
        _to_staging(bot, fake)
        bot, killed = _kill_at_each_step(
            tmp_path, fake, url, "stage", ("branch", "bump", "deploy"), bot
        )
        logs += killed
        fake.wait_for(lambda: said(fake, "*v1.4.0* is on staging"), timeout=30)
        # A message a killed bot was sending is sent again once its 9-second claim lapses:
        # wait that out, so that a second copy would be seen.
        time.sleep(10)
        _staged_once(fake, url)
    finally:
        logs.append(bot.stop())
    assert all("Traceback" not in log for log in logs), logs


def test_kill_9_at_every_step_of_promotion_does_each_once(
    tmp_path: Path, fake: FakeSlack, url: str
) -> None:
    quick = Bot(tmp_path, fake, url, DRY_RUN_DEPLOY_SECONDS="0")  # to an approval, fast
    logs = []
    try:
        _to_staging(quick, fake)
        _approve(quick, fake)
    finally:
        logs.append(quick.stop())
    bot = Bot(tmp_path, fake, url, **SLOW_STEPS)
    try:
        bot.sim.command("UMANAGER", "promote v1.4.0")
        bot, killed = _kill_at_each_step(
            tmp_path, fake, url, "promote", ("promote", "smoke", "changelog"), bot
        )
        logs += killed
        fake.wait_for(lambda: said(fake, ":tada: *v1.4.0* is released"), timeout=60)
        time.sleep(1)
        for fragment in (":rocket:", "is live", ":tada:"):
            assert len(said(fake, fragment)) == 1, fragment
        assert scalar(url, "SELECT COUNT(*) FROM artefacts WHERE kind = 'production_deploy'") == 1
        assert scalar(url, "SELECT COUNT(*) FROM artefacts WHERE kind = 'smoke_tests'") == 1
        assert scalar(url, "SELECT COUNT(*) FROM deployments") == 1
        assert scalar(url, "SELECT state FROM releases") == "released"
    finally:
        logs.append(bot.stop())
    assert all("Traceback" not in log for log in logs), logs
