"""How fast does the bot acknowledge Slack while slow work is running?

Starts the whole bot on loopback (fake Slack, real app on uvicorn, SQLite or DATABASE_URL),
makes every staging deploy take --work seconds, fires --requests simultaneous signed
`/release start` commands, and reports the acknowledgement latency Slack would see.

    python bench/ack_latency.py --requests 12 --work 5
    python bench/ack_latency.py --requests 50 --work 5 --postgres postgresql://postgres@127.0.0.1/postgres

With --postgres the benchmark creates a scratch database on that server and drops it after.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.console.local import LocalBot
from integrations.slow import slow
from storage.db import normalise_url


@contextmanager
def scratch_postgres(admin_url: str) -> Iterator[str]:
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"release_bot_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield (
            make_url(normalise_url(admin_url))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=12)
    parser.add_argument("--work", type=float, default=5.0, help="seconds each deploy takes")
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to use")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.postgres:
            with scratch_postgres(args.postgres) as url:
                run(args, url)
        else:
            run(args, f"sqlite:///{tmp}/bench.sqlite3")


def run(args: argparse.Namespace, url: str) -> None:
    bot = LocalBot.start(url, admins=("UADMIN",), integrations=slow(args.work))
    try:
        bot.simulator.command("UADMIN", "role add <@UMANAGER> release_manager")
        bot.fake.wait_quiet(quiet=0.3)
        barrier = threading.Barrier(args.requests)
        acks: list[float] = []
        statuses: list[int] = []

        def fire(i: int) -> None:
            barrier.wait()
            began = time.perf_counter()
            response = bot.simulator.command("UMANAGER", f"start v9.{i}.0")
            acks.append(time.perf_counter() - began)
            statuses.append(response.status_code)

        threads = [threading.Thread(target=fire, args=(i,)) for i in range(args.requests)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        bot.fake.wait_for(
            lambda: (
                sum("is on staging" in m.text for m in bot.fake.messages.values()) == args.requests
            ),
            timeout=args.work * args.requests + 30,
        )
        done = time.perf_counter() - began
    finally:
        bot.stop()
    acks.sort()
    late = sum(a > 3.0 for a in acks)
    print(f"requests={args.requests} work={args.work}s database={url.split(':')[0]}")
    print(f"HTTP 200: {statuses.count(200)}/{args.requests}; acknowledged after 3 s: {late}")
    print(
        f"ack latency ms: p50={statistics.median(acks) * 1000:.1f} "
        f"p95={acks[int(len(acks) * 0.95) - 1] * 1000:.1f} max={acks[-1] * 1000:.1f}"
    )
    print(f"all work finished after {done:.1f} s")


if __name__ == "__main__":
    main()
