"""How fast are the delivery metrics on a big history?

Migrates a fresh database, seeds two years of history with bulk inserts — 10,000 releases,
20,000 production deploys (promotions and rollbacks; succeeded, failed and unknown),
10,000 staging deploys, 100,000 audit rows, incidents, hotfixes and flags — then times
`delivery_metrics` for 30 and 90 days (best of 5 after a warm-up), each call in its own
transaction as the `/release metrics` command makes it. Target: under 200 ms. It also times
`in_production` (what production serves) on that history, as every Home render and every
status read afresh asks it, in a read-only transaction.

    .venv/bin/python bench/metrics.py
    .venv/bin/python bench/metrics.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

SQLite runs in a file in a temporary directory. With --database-url (a PostgreSQL server's
admin URL) the benchmark creates a throwaway database `bench_metrics_<pid>` on that server
and drops it after. PostgreSQL's statistics are refreshed (ANALYZE) after seeding, as
autovacuum would; SQLite is left as the bot leaves it (never analysed).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from scratch import scratch_postgres  # bench/scratch.py, beside this script
from sqlalchemy import Engine, insert, text

from commands.live import in_production
from release.clock import FixedClock
from storage import models
from storage.db import make_engine
from storage.migrate import upgrade
from storage.unit_of_work import Store

UNTIL = datetime(2026, 12, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
SPRINT = timedelta(days=14)
BATCH = 5_000


def history(
    releases: int, deploys: int, audits: int, seed: int = 14
) -> dict[str, list[dict[str, Any]]]:
    """Rows for every table, spread evenly over SPAN before UNTIL (deterministic)."""
    rng = random.Random(seed)
    start = UNTIL - SPAN
    step = SPAN / releases
    rows: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("releases", "deployments", "incidents", "flags", "audit_events")
    }
    per_release = deploys // releases  # production deploys a release gets (2)
    for n in range(1, releases + 1):
        created = start + step * (n - 1)
        state = rng.choices(("released", "failed", "rolled_back"), (94, 3, 3))[0]
        hotfix = n > 1 and rng.random() < 0.03
        rows["releases"].append(
            {
                "id": n,
                "version": f"v{n // 100}.{n % 100}.0",
                "kind": "hotfix" if hotfix else "regular",
                "state": state,
                "branch": f"release/{n}",
                "reason": "",
                "notes": "",
                "regression_passed": True,
                "started_by": "UBENCH",
                "created_at": created,
                "updated_at": created,
                "revision": 1,
                "fixes_release_id": n - 1 if hotfix else None,
            }
        )
        finished = created + timedelta(hours=rng.uniform(1, 48))
        rows["deployments"].append(
            _deploy(n, "staging", created + timedelta(minutes=30), "succeeded", "promotion")
        )
        incident_id = None
        if state != "released" or rng.random() < 0.05:
            incident_id = len(rows["incidents"]) + 1
            rows["incidents"].append(
                {
                    "id": incident_id,
                    "release_id": n,
                    "summary": "errors",
                    "opened_by": "UOPS",
                    "opened_at": finished + timedelta(minutes=rng.uniform(5, 180)),
                    "resolved_by": None,
                    "resolved_at": None,
                }
            )
        outcome = rng.choices(("succeeded", "unknown", "failed"), (90, 5, 5))[0]
        rows["deployments"].append(_deploy(n, "production", finished, outcome, "promotion"))
        for extra in range(per_release - 1):
            later = finished + timedelta(minutes=rng.uniform(10, 240) * (extra + 1))
            if state == "rolled_back" or (incident_id and rng.random() < 0.5):
                # Production goes back to the previous release, answering the incident.
                row = _deploy(max(n - 1, 1), "production", later, "succeeded", "rollback")
                row["answers_incident_id"] = incident_id
            else:
                retry = rng.choices(("succeeded", "unknown", "failed"), (90, 5, 5))[0]
                row = _deploy(n, "production", later, retry, "promotion")
            rows["deployments"].append(row)
    for n in range(1, 501):
        launched = start + SPAN * rng.random()
        removed = launched + timedelta(days=rng.uniform(3, 60))
        gone = removed < UNTIL and rng.random() < 0.8
        rows["flags"].append(
            {
                "id": n,
                "key": f"flag-{n}",
                "scope_kind": "tenant",
                "scope_value": "Admin",
                "rollback_plan": "turn it off",
                "status": "removed" if gone else "launched",
                "created_by": "UBENCH",
                "created_at": launched - timedelta(days=7),
                "launched_at": launched,
                "remove_by": launched + 2 * SPRINT,
                "removed_at": removed if gone else None,
                "removed_by": "UBENCH" if gone else None,
            }
        )
    for n in range(audits):
        rows["audit_events"].append(
            {
                "at": start + SPAN * (n / audits),
                "actor": "UBENCH",
                "action": "command.start",
                "release_id": rng.randint(1, releases),
                "details": {"n": n},
            }
        )
    return rows


def _deploy(
    release_id: int, environment: str, finished: datetime, outcome: str, kind: str
) -> dict[str, Any]:
    return {
        "release_id": release_id,
        "environment": environment,
        "deployment_id": None,
        "url": "",
        "started_at": finished - timedelta(minutes=4),
        "finished_at": finished,
        "outcome": outcome,
        "replaced": None,
        "job_id": None,
        "kind": kind,
        "answers_incident_id": None,
    }


def seed(engine: Engine, rows: dict[str, list[dict[str, Any]]]) -> None:
    tables = {t.name: t for t in models.Base.metadata.sorted_tables}
    with engine.begin() as conn:
        for name in ("releases", "incidents", "deployments", "flags", "audit_events"):
            for i in range(0, len(rows[name]), BATCH):
                conn.execute(insert(tables[name]), rows[name][i : i + BATCH])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))


def best_ms(store: Store, days: int, runs: int) -> float:
    def once() -> float:
        began = time.perf_counter()
        with store.transaction() as uow:
            uow.delivery_metrics(UNTIL - timedelta(days=days), UNTIL, sprint=SPRINT)
        return (time.perf_counter() - began) * 1000

    once()  # warm-up: connection, statement cache, pages
    return min(once() for _ in range(runs))


def live_ms(store: Store, runs: int) -> float:
    def once() -> float:
        began = time.perf_counter()
        with store.reading() as uow:
            in_production(uow)
        return (time.perf_counter() - began) * 1000

    once()
    return min(once() for _ in range(runs))


def run(url: str, args: argparse.Namespace) -> str:
    engine = make_engine(url)
    try:
        upgrade(engine)
        began = time.perf_counter()
        rows = history(args.releases, args.deploys, args.audit_rows)
        seed(engine, rows)
        seeded = time.perf_counter() - began
        store = Store(engine, FixedClock(UNTIL))
        for days in (30, 90):
            with store.transaction() as uow:
                m = uow.delivery_metrics(UNTIL - timedelta(days=days), UNTIL, sprint=SPRINT)
            print(
                f"  {days}d: {m.deploys} deploys, {m.change_failures} failures, "
                f"{m.restored} restored, MTTR {m.mean_time_to_restore}, lead {m.lead_time}, "
                f"flag lifetime {m.flag_lifetime}, {m.overdue_flags} overdue"
            )
        t30, t90 = best_ms(store, 30, args.runs), best_ms(store, 90, args.runs)
        live = live_ms(store, args.runs)
        store.dispose()
    finally:
        engine.dispose()
    production = sum(r["environment"] == "production" for r in rows["deployments"])
    return (
        f"{engine.dialect.name}: metrics 30d {t30:.1f} ms, 90d {t90:.1f} ms, "
        f"in production {live:.1f} ms "
        f"({args.releases} releases, {production} deploys, {args.audit_rows} audit rows; "
        f"seeded in {seeded:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="a PostgreSQL server's admin URL")
    parser.add_argument("--releases", type=int, default=10_000)
    parser.add_argument("--deploys", type=int, default=20_000, help="production deploys")
    parser.add_argument("--audit-rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.database_url:
        with scratch_postgres(args.database_url, "bench_metrics") as url:
            print(run(url, args))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            print(run(f"sqlite:///{tmp}/bench.sqlite3", args))


if __name__ == "__main__":
    main()
