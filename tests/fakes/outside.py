"""Every outside system a real release touches, on loopback, wired together like the real ones.

GitHub, Vercel, the production site the smoke checks hit and an SMTP server. Vercel's Git
integration is played by a thread: each commit on a `release/` branch gets a staging build,
as pushing to the branch does for real.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.fakes.github import FakeGitHub
from tests.fakes.smoke_target import SmokeTarget
from tests.fakes.vercel import FakeVercel
from tests.processes import free_port

SUPPORT_CHANNEL = "CSUPPORT"
RECIPIENTS = ("agencies@example.com", "internal@example.com")
SENDER = "release-bot@example.com"


@dataclass
class Mailbox:
    """An SMTP server's handler that keeps what it accepted."""

    received: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(  # noqa: N802 (aiosmtpd's naming)
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"


class Outside:
    def __init__(self, *, build_ready: bool = True, switch_after_polls: int = 0) -> None:
        self.github = FakeGitHub(auto_finish="success", auto_finish_after=1)
        self.vercel = FakeVercel(switch_after_polls=switch_after_polls)
        self.site = SmokeTarget()
        self.mailbox = Mailbox()
        self.build_ready = build_ready  # False: builds wait for a test's finish_build
        self.builds: dict[str, str] = {}  # commit → staging deployment
        self._smtp = Controller(self.mailbox, hostname="127.0.0.1", port=free_port())
        self._stop = threading.Event()
        self._git = threading.Thread(target=self._git_integration, daemon=True)

    def start(self) -> Outside:
        self.github.start()
        self.vercel.start()
        self.site.start()
        self._smtp.start()
        for path in ("/upload", "/share", "/notify"):
            self.site.answer(path, 200)
        # What production served before the bot's first release.
        old = self.vercel.push("release/v1.3.0", "0" * 40, ready=True)
        self.vercel.set_production(old)
        self.previous_production = old
        self._git.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._git.join(2)
        self._smtp.stop()
        self.site.stop()
        self.vercel.stop()
        self.github.stop()

    def _git_integration(self) -> None:
        while not self._stop.wait(0.02):
            for branch, sha in list(self.github.branches.items()):
                if branch.startswith(("release/", "hotfix/")) and sha not in self.builds:
                    self.builds[sha] = self.vercel.push(branch, sha, ready=self.build_ready)

    def env(self) -> dict[str, str]:
        """The settings that make every integration real, as environment variables."""
        site = self.site.base_url
        checks = [
            {"name": "asset upload", "method": "GET", "url": f"{site}/upload", "timeout_s": 2},
            {"name": "share view", "url": f"{site}/share", "expect_status": 200, "timeout_s": 2},
            {"name": "notification trigger", "method": "POST", "url": f"{site}/notify"},
        ]
        return {
            "GITHUB_TOKEN": self.github.token,
            "GITHUB_REPOSITORY": "acme/portal",
            "GITHUB_API_URL": self.github.base_url,
            "VERCEL_TOKEN": self.vercel.token,
            "VERCEL_PROJECT_ID": self.vercel.project_id,
            "VERCEL_API_URL": self.vercel.base_url,
            "SMOKE_CHECKS": json.dumps(checks),
            "SMTP_URL": f"smtp://127.0.0.1:{self._smtp.port}",
            "RELEASE_NOTES_FROM": SENDER,
            "RELEASE_NOTES_TO": ",".join(RECIPIENTS),
            "SUPPORT_CHANNEL_ID": SUPPORT_CHANNEL,
            "INTEGRATION_TIMEOUT_SECONDS": "2",
            "INTEGRATION_POLL_SECONDS": "0.05",
        }


@contextmanager
def outside(**options: Any) -> Iterator[Outside]:
    world = Outside(**options).start()
    try:
        yield world
    finally:
        world.stop()
