"""Start `python app.py` as production does, with its environment, and stop it; drive a
release through it as its people would."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from functools import cache, partial
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from bot.console.fake_slack import FakeSlack
from bot.console.simulator import SlackSimulator

ROOT = Path(__file__).parent.parent
SECRET = "process-signing-secret"  # noqa: S105
CHANNEL = "C0PORTALREL"
ALWAYS_OPEN = {  # a window every day, all day: promotion is gated by the lock alone
    "RELEASE_WINDOW_DAYS": "mon,tue,wed,thu,fri,sat,sun",
    "RELEASE_WINDOW_START": "00:00",
    "RELEASE_WINDOW_MINUTES": "1440",
}
CAST = {
    "UMANAGER": "release_manager",
    "UQA": "qa",
    "UTL": "tech_lead",
    "UCS": "client_success",
    "USEC": "security",
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database the bots share: SQLite, and PostgreSQL where there is one."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/release_bot.sqlite3"
    return str(request.getfixturevalue("postgres_url"))


@cache
def _engine(url: str) -> Engine:
    return create_engine(url, poolclass=NullPool)  # no connection outlives its query


def scalar(url: str, sql: str) -> object:
    """The first column of the first row `sql` selects from the database at `url`."""
    with _engine(url).connect() as conn:
        return conn.execute(text(sql)).scalar()


def said(fake: FakeSlack, fragment: str) -> list[str]:
    """What the bot posted in the release channel that contains `fragment`."""
    return [m.text for m in fake.channel_messages(CHANNEL) if fragment in m.text]


def free_port() -> int:
    """A free port below the kernel's ephemeral range, from which every outgoing connection
    takes its own port: a port from that range, free when asked, was at times taken by
    another test's connection or server before the bot could listen on it (or answered for
    a bot that had stopped). Never the same port twice in one process."""
    while True:
        port = random.randrange(_EPHEMERAL_START - 12_000, _EPHEMERAL_START)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default; other systems start higher


_EPHEMERAL_START = max(13_024, _ephemeral_start())
_handed_out: set[int] = set()


def launch(home: Path, fake: FakeSlack, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            "SLACK_BOT_TOKEN": fake.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "RELEASE_CHANNEL_ID": CHANNEL,
            "RELEASE_ADMINS": "UADMIN",
            **env,
        },
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_healthy(process: subprocess.Popen[str], port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise AssertionError("the bot exited:\n" + stop(process))
        if time.monotonic() > deadline:
            raise AssertionError("the bot never answered /healthz:\n" + stop(process))
        time.sleep(0.1)


def stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.terminate()
    try:
        out, _ = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out or ""


class Bot:
    """One `python app.py` on a port of its own, and a simulator signing requests for it.

    Its settings: `extra`, then an always-open release window, the database at `url`, no
    scheduler tick in a test's time, 3-second job leases and 2-second Slack time-outs."""

    def __init__(self, home: Path, fake: FakeSlack, url: str, **extra: str) -> None:
        self.port = free_port()
        env = {
            **extra,
            **ALWAYS_OPEN,
            "DATABASE_URL": url,
            "SCHEDULER_TICK_SECONDS": "3600",
            "JOB_LEASE_SECONDS": "3",
            "SLACK_TIMEOUT_SECONDS": "2",  # a message the killed instance was sending: 9 s claim
        }
        self.process = launch(home, fake, PORT=str(self.port), **env)
        wait_healthy(self.process, self.port)
        self.sim = SlackSimulator(
            f"http://127.0.0.1:{self.port}/slack/events", SECRET, fake, CHANNEL
        )

    def stop(self) -> str:
        self.sim.close()
        return stop(self.process)


def grant_roles(sim: SlackSimulator, fake: FakeSlack) -> None:
    """The admin gives each of the `CAST` their role, through `sim`'s instance."""
    for user, role in CAST.items():
        sim.command("UADMIN", f"role add <@{user}> {role}")
        fake.wait_for(partial(said, fake, f"granted <@{user}>"))


def approve_review(fake: FakeSlack, *sims: SlackSimulator) -> None:
    """Every reviewer approves v1.4.0's readiness review once it is posted, the clicks
    going to the instances of `sims` in turn."""
    review = fake.wait_for(
        lambda: next(
            (
                m
                for m in fake.channel_messages(CHANNEL)
                if m.text.startswith("Readiness review of v1.4.0")
            ),
            None,
        ),
        timeout=20,
    )
    for n, user in enumerate(("UTL", "UQA", "UCS", "USEC")):
        sim = sims[n % len(sims)]
        sim.click(user, fake.messages[(review.channel, review.ts)], "review_approve")
        fake.wait_for(
            partial(
                lambda who: any(
                    "Recorded your approval" in e.text for e in fake.ephemerals_for(who)
                ),
                user,
            )
        )
    fake.wait_for(lambda: said(fake, "*v1.4.0* is approved"))
