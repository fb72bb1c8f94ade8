"""The bot as a test sees it: signed requests in, Slack calls and database rows out."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text

from bot.console.fake_slack import Ephemeral, Message, OpenedView
from bot.console.local import CHANNEL_ID, LocalBot
from bot.scheduler import Ticker
from bot.views.review import ReviewAction, SignOffModal
from release.clock import FixedClock

ADMIN = "UADMIN"
MANAGER = "UMANAGER"
TECH_LEAD = "UTECHLEAD"
QA = "UQA"
CLIENT_SUCCESS = "UCLIENTSUCCESS"
SECURITY = "USECURITY"
RELIABILITY = "URELIABILITY"
NOBODY = "UNOBODY"

CAST = {
    MANAGER: "release_manager",
    TECH_LEAD: "tech_lead",
    QA: "qa",
    CLIENT_SUCCESS: "client_success",
    SECURITY: "security",
    RELIABILITY: "reliability",
}
REVIEWERS = (TECH_LEAD, QA, CLIENT_SUCCESS, SECURITY)
REPORT = "https://ci.example.com/runs/812"
BRISBANE = ZoneInfo("Australia/Brisbane")
#: Tuesday 24 November 2026, 10:30 AEST: inside a release window.
IN_TUESDAY_WINDOW = datetime(2026, 11, 24, 10, 30, tzinfo=BRISBANE)


def aest(text: str) -> datetime:
    """An instant written as Brisbane wall time: "2026-11-24 10:00"."""
    return datetime.strptime(
        text, "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
    ).replace(tzinfo=BRISBANE)


class Harness:
    def __init__(self, local: LocalBot) -> None:
        self.local = local
        self.fake = local.fake
        self.sim = local.simulator
        self.engine = local.runtime.engine
        self.clock = FixedClock(IN_TUESDAY_WINDOW)
        self.ticker = Ticker(local.runtime.services, 30)  # ticked by hand: tick()

    @classmethod
    def start(cls, database_url: str, **kwargs: Any) -> Harness:
        """The bot with a clock of its own, inside Tuesday's window unless a test moves it."""
        clock = kwargs.pop("clock", None) or FixedClock(IN_TUESDAY_WINDOW)
        harness = cls(LocalBot.start(database_url, admins=(ADMIN,), clock=clock, **kwargs))
        harness.clock = clock
        return harness

    def stop(self) -> None:
        self.local.stop()

    # -- driving ------------------------------------------------------------------

    def run(self, user: str, text_: str, *, channel: str = CHANNEL_ID) -> httpx.Response:
        response = self.sim.command(user, text_, channel_id=channel)
        assert response.status_code == 200, response.text
        return response

    def run_and_wait(self, user: str, text_: str) -> None:
        """Run a command and wait until the bot has finished saying things."""
        self.run(user, text_)
        self.settle()

    def settle(self) -> None:
        """Wait until the bot has finished everything it was given: nothing under way or
        due, and nothing said for a moment."""
        assert self.local.settle(), "the bot was still busy after 15 s (or its database is away)"

    def cast(self) -> None:
        """Grant the cast their roles, and wait until every grant is in (not just the last)."""
        for user, role in CAST.items():
            self.run(ADMIN, f"role add <@{user}|{user.lower()}> {role}")
        for user in CAST:
            self.wait_said(f"granted <@{user}> the ")

    def to_review(self, version: str = "v1.4.0") -> Message:
        self.cast()
        self.run(MANAGER, f"start {version}")
        self.wait_said(f"*{version}* is on staging")
        self.run(QA, f"regression {version} pass <{REPORT}>")
        return self.wait_review(version)

    def approved(self, version: str = "v1.4.0") -> Message:
        review = self.to_review(version)
        for reviewer in REVIEWERS:
            self.approve(reviewer, review)
            self.wait_told(reviewer, f"Recorded your approval of {version}")
        self.wait_said(f"*{version}* is approved")
        return review

    def released(self, version: str = "v1.4.0") -> None:
        """Take `version` all the way to production (the clock must be inside a window)."""
        self.approved(version)
        self.run(MANAGER, f"promote {version}")
        self.wait_said(f":tada: *{version}* is released")

    def approve(self, user: str, review: Message) -> httpx.Response:
        return self.sim.click(user, self.current(review), ReviewAction.APPROVE.value)

    def reject(self, user: str, review: Message, reason: str) -> httpx.Response:
        self.sim.click(user, self.current(review), ReviewAction.REJECT.value)
        modal = self.wait_modal(user)
        return self.submit_reason(user, modal, reason)

    def submit_reason(self, user: str, modal: OpenedView, reason: str) -> httpx.Response:
        return self.sim.submit(
            user,
            modal,
            {
                SignOffModal.REASON_BLOCK.value: {
                    SignOffModal.REASON.value: {"type": "plain_text_input", "value": reason}
                }
            },
        )

    # -- reading what Slack was told ---------------------------------------------

    def said(self) -> list[str]:
        return [m.text for m in self.fake.channel_messages(CHANNEL_ID)]

    def wait_said(self, fragment: str, timeout: float = 10) -> Message:
        return self.fake.wait_for(
            lambda: next(
                (m for m in self.fake.channel_messages(CHANNEL_ID) if fragment in m.text), None
            ),
            timeout,
        )

    def wait_told(self, user: str, fragment: str, timeout: float = 10) -> Ephemeral:
        return self.fake.wait_for(
            lambda: next((e for e in self.fake.ephemerals_for(user) if fragment in e.text), None),
            timeout,
        )

    def told(self, user: str) -> list[str]:
        return [e.text for e in self.fake.ephemerals_for(user)]

    def wait_review(
        self, version: str, *, nth: int = 1, title: str = "Readiness review", timeout: float = 10
    ) -> Message:
        """The `nth` review message of `version` (a hotfix's title is "Hotfix approval")."""

        def find() -> Message | None:
            reviews = [
                m
                for m in self.fake.channel_messages(CHANNEL_ID)
                if m.text.startswith(f"{title} of {version}")
            ]
            return reviews[nth - 1] if len(reviews) >= nth else None

        return self.fake.wait_for(find, timeout)

    def current(self, message: Message) -> Message:
        return self.fake.messages[(message.channel, message.ts)]

    def wait_modal(self, user: str, count: int = 1) -> OpenedView:
        return self.fake.wait_for(
            lambda: (
                [v for v in self.fake.views if v.user == user][count - 1]
                if len([v for v in self.fake.views if v.user == user]) >= count
                else None
            )
        )

    def buttons(self, message: Message) -> list[str]:
        return [
            e["text"]["text"]
            for b in self.current(message).blocks
            for e in b.get("elements") or []
            if e.get("type") == "button"
        ]

    def review_fields(self, message: Message) -> list[str]:
        return [
            f["text"]
            for b in self.current(message).blocks
            if b["type"] == "section"
            for f in b.get("fields") or []
        ]

    # -- reading the database ------------------------------------------------------

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def count(self, table: str) -> int:
        return int(self.rows(f"SELECT COUNT(*) FROM {table}")[0][0])  # noqa: S608

    def state(self, version: str) -> str | None:
        rows = self.rows("SELECT state FROM releases WHERE version = :v", v=version)
        return rows[0][0] if rows else None

    def wait_state(self, version: str, state: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while self.state(version) != state:
            if time.monotonic() > deadline:
                raise AssertionError(f"{version} is {self.state(version)}, expected {state}")
            time.sleep(0.02)

    def snapshot(self) -> dict[str, int]:
        tables = (
            "releases",
            "reviews",
            "sign_offs",
            "role_grants",
            "artefacts",
            "audit_events",
            "compliance_ticks",
        )
        return {t: self.count(t) for t in tables}
