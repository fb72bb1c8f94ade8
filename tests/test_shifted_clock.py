"""The whole bot under a shifted system clock (libfaketime): it behaves as if it were then."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.console.fake_slack import FakeSlack
from tests.processes import CHANNEL, ROOT, SECRET, free_port, stop, wait_healthy

# Preloaded into the bot itself (not through the `faketime` wrapper, which would stand
# between the test and the process it stops).
LIBFAKETIME = next(
    (
        path
        for path in glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1")
        + glob.glob("/usr/lib/faketime/libfaketimeMT.so.1")
    ),
    None,
)
pytestmark = pytest.mark.skipif(
    LIBFAKETIME is None and os.environ.get("REQUIRE_FAKETIME") != "1",
    reason="libfaketime is not installed (apt-get install faketime)",
)
PRE_WINDOW = ":alarm_clock: The release window opens Tue 24 Nov 2026 10:00 AEST"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    slack = FakeSlack(bot_token="xoxb-shifted")
    slack.start()
    yield slack
    slack.stop()


def _start_at(instant_utc: str, tmp_path: Path, fake: FakeSlack) -> subprocess.Popen[str]:
    """`python app.py` whose system clock starts at `instant_utc` and runs on from there."""
    assert LIBFAKETIME is not None, "REQUIRE_FAKETIME=1 but libfaketime is not installed"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        env={
            "LD_PRELOAD": LIBFAKETIME,
            "FAKETIME": f"@{instant_utc}",
            "FAKETIME_DONT_RESET": "1",
            # Shift the wall clock only: Python's timed waits (the scheduler's ticker) use
            # absolute deadlines on the monotonic clock, which must keep real time.
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "TZ": "UTC",
            "SLACK_BOT_TOKEN": fake.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "RELEASE_CHANNEL_ID": CHANNEL,
            "DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3",
            "PORT": str(port),
            "SCHEDULER_TICK_SECONDS": "1",
        },
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_healthy(process, port)
    return process


def _posts(fake: FakeSlack) -> list[str]:
    return [m.text for m in fake.channel_messages(CHANNEL) if PRE_WINDOW in m.text]


def test_started_at_0859_35_aest_the_0900_post_goes_out_on_time(
    tmp_path: Path, fake: FakeSlack
) -> None:
    # 25 s before the post is due: a bot that starts after 09:00 never knew the window and
    # rightly posts nothing, and under a full parallel test run its imports alone took 11 s.
    began = time.monotonic()
    process = _start_at("2026-11-23 22:59:35", tmp_path, fake)  # Tue 08:59:35 AEST
    try:
        post = fake.wait_for(lambda: _posts(fake), timeout=60)[0]
        assert time.monotonic() - began >= 20  # not before 09:00 on the bot's clock
        assert "Posted late" not in post
        time.sleep(2)
        assert len(_posts(fake)) == 1
    finally:
        log = stop(process)
    assert "Traceback" not in log


def test_first_started_at_0930_aest_it_posts_nothing_late_for_a_window_it_never_knew(
    tmp_path: Path, fake: FakeSlack
) -> None:
    process = _start_at("2026-11-23 23:30:00", tmp_path, fake)  # Tue 09:30 AEST, first run
    try:
        time.sleep(3)  # three ticks
        assert _posts(fake) == []
    finally:
        log = stop(process)
    assert "Traceback" not in log


def test_restarted_at_0930_aest_the_missed_post_goes_out_marked_late(
    tmp_path: Path, fake: FakeSlack
) -> None:
    earlier = _start_at("2026-11-23 22:00:00", tmp_path, fake)  # Tue 08:00 AEST: it ran then
    time.sleep(1.5)
    stop(earlier)
    process = _start_at("2026-11-23 23:30:00", tmp_path, fake)  # down at 09:00, back at 09:30
    try:
        post = fake.wait_for(lambda: _posts(fake), timeout=40)[0]
        assert post.startswith(
            "_(Posted late: this was due Tue 24 Nov 2026 09:00 AEST, when the bot was not "
            "running.)_"
        )
    finally:
        log = stop(process)
    assert "Traceback" not in log
