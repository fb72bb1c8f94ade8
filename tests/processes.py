"""Start `python app.py` as production does, with its environment, and stop it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bot.console.fake_slack import FakeSlack

ROOT = Path(__file__).parent.parent
SECRET = "process-signing-secret"  # noqa: S105
CHANNEL = "C0PORTALREL"
ALWAYS_OPEN = {  # a window every day, all day: promotion is gated by the lock alone
    "RELEASE_WINDOW_DAYS": "mon,tue,wed,thu,fri,sat,sun",
    "RELEASE_WINDOW_START": "00:00",
    "RELEASE_WINDOW_MINUTES": "1440",
}


def said(fake: FakeSlack, fragment: str) -> list[str]:
    """What the bot posted in the release channel that contains `fragment`."""
    return [m.text for m in fake.channel_messages(CHANNEL) if fragment in m.text]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
