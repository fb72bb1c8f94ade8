"""Every command is acknowledged within Slack's 3 seconds, however slow the work behind it."""

from __future__ import annotations

import threading
import time

from integrations.slow import slow
from tests.harness import MANAGER, Harness

SLACK_DEADLINE = 3.0


def test_twelve_simultaneous_starts_with_slow_deploys_are_all_acknowledged_fast(
    database_url: str,
) -> None:
    bot = Harness.start(database_url, integrations=slow(4.0))
    try:
        bot.cast()
        barrier = threading.Barrier(12)
        acks: list[float] = []

        def start(minor: int) -> None:
            barrier.wait()
            began = time.perf_counter()
            bot.run(MANAGER, f"start v1.{minor}.0")
            acks.append(time.perf_counter() - began)

        threads = [threading.Thread(target=start, args=(i,)) for i in range(12)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(acks) == 12
        assert max(acks) < SLACK_DEADLINE / 3, sorted(acks)

        # the slow work still happens, in parallel, after every ack
        bot.fake.wait_for(lambda: sum("is on staging" in t for t in bot.said()) == 12, timeout=30)
        assert time.perf_counter() - began < 4.0 * 3  # not one after another (48 s)
        assert bot.count("releases") == 12
    finally:
        bot.stop()
