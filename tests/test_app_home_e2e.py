"""The App Home tab: what each release still needs, windows, freezes, flags and metrics."""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta
from typing import Any

import pytest

from bot.runtime import render_home
from release.clock import FixedClock
from release.flags import FlagScope, ScopeKind
from tests.harness import IN_TUESDAY_WINDOW, MANAGER, QA, Harness

AGENCY = FlagScope(ScopeKind.TENANT, "Agency")


def _text(view: dict[str, Any]) -> str:
    parts = []
    for block in view["blocks"]:
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(text["text"])
        for element in block.get("elements") or []:
            if isinstance(element, dict) and "text" in element:
                parts.append(element["text"])
    return "\n".join(parts)


def test_the_home_tab_shows_the_state_of_releases_and_follows_changes(
    database_url: str,
) -> None:
    clock = FixedClock(IN_TUESDAY_WINDOW)
    bot = Harness.start(database_url, clock=clock)
    try:
        bot.cast()
        response = bot.sim.event(QA, "app_home_opened", tab="home")
        assert response.status_code == 200
        home = bot.fake.wait_for(lambda: bot.fake.homes.get(QA))
        text = _text(home)
        assert home["type"] == "home"
        assert "No release is open." in text
        assert "*In production*: nothing yet" in text
        assert "A release window is open until Tue 24 Nov 2026 12:00 AEST." in text
        assert "*Delivery, last 30 days*" in text and "Deployment frequency" in text

        bot.run(MANAGER, "start v1.4.0")
        bot.wait_said("*v1.4.0* is on staging")
        bot.fake.wait_for(lambda: "*v1.4.0* `staging`" in _text(bot.fake.homes[QA]))
        assert "waiting for QA to record the staging regression" in _text(bot.fake.homes[QA])

        bot.run(MANAGER, "flag add share-v2 Agency turn it off")
        bot.wait_said("added the flag `share-v2`")  # (commands run concurrently)
        bot.run(MANAGER, "flag launch share-v2")
        bot.wait_said("launched `share-v2`")
        clock.advance(timedelta(days=30))
        bot.run(MANAGER, "freeze add 2027-02-01 2027-02-03 agency summit")
        bot.wait_said(":snowflake: Freeze")

        def settled() -> dict[str, Any] | None:
            # A publish already under way when the clock moved may show the freeze but not
            # yet the overdue flag; the freeze's own publish follows with both.
            home = bot.fake.homes[QA]
            return home if all(f in _text(home) for f in ("Freezes ahead", "`share-v2`")) else None

        home = bot.fake.wait_for(settled)
        text = _text(home)
        assert "agency summit" in text
        assert "*Flags past their removal deadline*" in text and "`share-v2`" in text
        assert len(home["blocks"]) <= 100
        assert bot.fake.count("views.publish") >= 3
    finally:
        bot.stop()


def test_a_home_opened_for_messages_publishes_nothing(database_url: str) -> None:
    bot = Harness.start(database_url)
    try:
        bot.sim.event(QA, "app_home_opened", tab="messages")
        bot.fake.wait_quiet()
        assert bot.fake.homes == {} and bot.fake.count("views.publish") == 0
    finally:
        bot.stop()


def test_a_home_tab_with_more_than_fits_says_where_the_rest_is(database_url: str) -> None:
    clock = FixedClock(IN_TUESDAY_WINDOW)
    bot = Harness.start(database_url, clock=clock)
    try:
        now = clock.now()
        with bot.local.runtime.services.store.transaction() as uow:
            for n in range(40):
                uow.add_release(
                    f"v2.{n}.0", kind="regular", branch=f"release/v2.{n}.0", started_by=MANAGER
                )
            for n in range(25):
                start = now + timedelta(days=20 + 3 * n)
                uow.add_freeze(
                    start,
                    start + timedelta(days=1),
                    "summit " + "x" * 200,
                    short_notice=False,
                    by=MANAGER,
                )
            for n in range(30):
                uow.add_flag(f"flag-{n}", AGENCY, "turn it off", by=MANAGER)
                uow.launch_flag(f"flag-{n}", now - timedelta(days=1))
        bot.sim.event(QA, "app_home_opened", tab="home")
        home = bot.fake.wait_for(lambda: bot.fake.homes.get(QA))
        text = _text(home)
        assert "_…and 25 more: `/release status`._" in text
        assert "_…and 15 more: `/release freeze list`._" in text
        assert "_…and 20 more: `/release flag list`._" in text
        for block in home["blocks"]:
            if isinstance(block.get("text"), dict):
                assert len(block["text"]["text"]) <= 3000
    finally:
        bot.stop()


def test_a_home_tab_is_read_without_waiting_for_the_writer(database_url: str) -> None:
    """Each viewer's tab is read in a read-only snapshot: on SQLite, where there is one
    writer, a render does not wait for (or hold up) a write under way elsewhere."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's writers do not lock readers out: nothing to wait for")
    bot = Harness.start(database_url, clock=FixedClock(IN_TUESDAY_WINDOW))
    try:
        bot.cast()
        bot.run(MANAGER, "start v1.4.0")
        bot.wait_said("*v1.4.0* is on staging")
        writer = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # another instance's write, not yet committed
        try:
            began = time.monotonic()
            home = render_home(bot.local.runtime.services)
            took = time.monotonic() - began
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        assert "*v1.4.0* `staging`" in _text(home)
        assert took < 1.0  # the writers' lock waits up to its busy timeout
    finally:
        bot.stop()
