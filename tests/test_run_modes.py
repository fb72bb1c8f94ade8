"""`python app.py` as production starts it: over HTTP, and in Socket Mode."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.console.fake_slack import FakeSlack
from bot.console.simulator import SlackSimulator
from tests.fake_socket_mode import FakeSocketMode
from tests.processes import CHANNEL, SECRET, free_port, launch, stop, wait_healthy


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    slack = FakeSlack(bot_token="xoxb-run-modes")
    slack.start()
    yield slack
    slack.stop()


def _launch(tmp_path: Path, fake: FakeSlack, **env: str) -> subprocess.Popen[str]:
    return launch(tmp_path, fake, DATABASE_URL=f"sqlite:///{tmp_path}/bot.sqlite3", **env)


def test_http_mode_serves_slack_events_and_health(tmp_path: Path, fake: FakeSlack) -> None:
    port = free_port()
    process = _launch(tmp_path, fake, PORT=str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(process, port)
        assert httpx.get(f"{base}/healthz").json() == {"ok": True, "database": "ok"}
        sim = SlackSimulator(f"{base}/slack/events", SECRET, fake, CHANNEL)
        assert sim.command("UADMIN", "role add <@UBOB|bob> qa").status_code == 200
        fake.wait_for(
            lambda: any(
                "granted <@UBOB> the QA role" in m.text for m in fake.channel_messages(CHANNEL)
            )
        )
        assert sim.signed_post("text=x", secret="wrong").status_code == 401
        sim.close()
    finally:
        log = stop(process)
    assert SECRET not in log
    assert fake.bot_token not in log
    assert "DRY RUN for GitHub, Vercel, smoke tests: set their credentials" in log


def test_socket_mode_when_an_app_token_is_set(tmp_path: Path, fake: FakeSlack) -> None:
    socket_mode = FakeSocketMode()
    fake.socket_mode_url = socket_mode.start()
    process = _launch(tmp_path, fake, SLACK_APP_TOKEN=fake.app_token)
    try:
        socket_mode.wait_connected()
        command = {
            "team_id": fake.team_id,
            "channel_id": CHANNEL,
            "user_id": "UADMIN",
            "command": "/release",
            "text": "role add <@UBOB> qa",
            "api_app_id": "ACONSOLE",
            "response_url": fake.response_url(CHANNEL, "UADMIN"),
            "trigger_id": "1.2.3",
        }
        ack = socket_mode.send("slash_commands", command)
        assert "payload" not in ack or not ack["payload"]
        fake.wait_for(
            lambda: any(
                "granted <@UBOB> the QA role" in m.text for m in fake.channel_messages(CHANNEL)
            )
        )

        usage = socket_mode.send("slash_commands", {**command, "text": "start v1.4"})
        assert "`v1.4` is not a release version" in usage["payload"]["text"]
    finally:
        log = stop(process)
        socket_mode.stop()
    assert fake.app_token not in log
