"""The bot against bare Bolt apps: signed slash commands and button clicks under load.

One run starts a fake Slack Web API on loopback, then the bot in HTTP mode (`python app.py`,
as the Procfile runs it) on SQLite and then on PostgreSQL, with every deploy and GitHub
call taking --work seconds, and two bare Bolt apps that only acknowledge (Bolt's defaults,
and with process_before_response). For `/release status` and for a click on a review's
Approve button it fires --count signed requests at 1, 10, 50 and 200 concurrent clients
and prints requests/s, acknowledgement p50/p95/p99, errors, peak memory and the bot's
ratio to the best bare app. A level counts only when every reply the bot owes (the status
answer, the click's answer) has reached the fake Slack; while it runs, new releases are
started so that slow deploys and GitHub calls are under way.

    python bench/load.py
    python bench/load.py --count 500 --clients 1,10 --postgres ''    # quick, SQLite only

The load comes from a separate process, over keep-alive connections opened before the
clock starts, with every request signed beforehand (each is new: the bot refuses replays).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from multiprocessing import get_context
from pathlib import Path

from scratch import scratch_postgres  # bench/scratch.py, beside this script

from bot.console.fake_slack import FakeSlack, Message
from bot.console.simulator import SlackSimulator
from bot.services import DATABASE_DOWN, SLOW_ANSWER, WENT_WRONG
from bot.views.review import ReviewAction

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret"  # noqa: S105
CHANNEL = "C0PORTALREL"
SLACK_DEADLINE = 3.0
CAST = {
    "UMANAGER": "release_manager",
    "UQA": "qa",
    "UTL": "tech_lead",
    "UCS": "client_success",
    "USEC": "security",
}
#: Who asks for status, and who clicks Approve again on a review they already approved.
ASKER, CLICKER = "UASKER", "UTL"
#: An acknowledgement saying the answer could not be read is not the answer.
FAILED = [m[:30].encode() for m in (SLOW_ANSWER, DATABASE_DOWN, WENT_WRONG)]
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"


# -- the load: its own process, so the servers' measured CPU is theirs ----------------------


@dataclass
class Load:
    latencies: list[float]  # seconds, one per acknowledged request
    errors: int  # not acknowledged with HTTP 200 (refused, reset, or no answer in time)
    answered: int  # acknowledged with a message (a read-only command's answer)
    began: float  # time.monotonic() when the first request went out
    ended: float  # time.monotonic() when the last acknowledgement came back


def fire(port: int, requests: list[bytes], clients: int) -> Load:
    """Send `requests` over `clients` keep-alive connections, each as soon as its
    connection's previous answer is in."""
    return asyncio.run(_fire(port, requests, clients))


async def _fire(port: int, requests: list[bytes], clients: int) -> Load:
    pending = iter(requests)
    latencies: list[float] = []
    errors = answered = 0

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", port)

    async def client(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        nonlocal errors, answered
        reader, writer = conn
        for request in pending:
            began = time.monotonic()
            try:
                writer.write(request)
                status, close, body = await asyncio.wait_for(_response(reader), 30)
            except (OSError, EOFError, TimeoutError, asyncio.IncompleteReadError):
                status, close, body = 0, True, b""
            if status == 200:
                latencies.append(time.monotonic() - began)
                answered += b'"text"' in body and not any(f in body for f in FAILED)
            else:
                errors += 1
            if close:
                writer.close()
                reader, writer = await connect()
        writer.close()

    conns = [await connect() for _ in range(clients)]  # connected before the clock starts
    began = time.monotonic()
    await asyncio.gather(*(client(c) for c in conns))
    return Load(latencies, errors, answered, began, time.monotonic())


async def _response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    headers = dict(
        (name.strip().lower(), value.strip())
        for name, _, value in (line.partition(":") for line in head[1:] if line)
    )
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection", "").lower() == "close", body


def signed(port: int, body: str) -> bytes:
    ts = str(int(time.time()))
    mac = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    raw = body.encode()
    return (
        f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(raw)}\r\nX-Slack-Request-Timestamp: {ts}\r\n"
        f"X-Slack-Signature: v0={mac}\r\n\r\n"
    ).encode() + raw


# -- the servers ------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A server process on a port of its own; its memory read from /proc."""

    def __init__(
        self, name: str, argv: Callable[[int], list[str]], env: dict[str, str], hello: str
    ) -> None:
        self.name = name
        self.port = free_port()
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (read when it fails, closed by stop)
        # A directory of its own: no .env from the checkout (a developer's real tokens) is read.
        self.home = tempfile.TemporaryDirectory()
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            argv(self.port),
            env={"PATH": os.environ["PATH"], "HOME": self.home.name, "PORT": str(self.port), **env},
            cwd=self.home.name,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.first_ack = self._first_ack(hello)

    def _first_ack(self, hello: str) -> float:
        """Seconds from the process's start to its first acknowledged signed request."""
        deadline = self.started + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise SystemExit(f"{self.name} exited:\n{self.log.read().decode()}")
            try:
                if fire(self.port, [signed(self.port, hello)], 1).latencies:
                    return time.monotonic() - self.started
            except OSError:
                pass
            time.sleep(0.005)
        self.log.seek(0)
        raise SystemExit(f"{self.name} never acknowledged:\n{self.log.read().decode()[-3000:]}")

    def memory(self, field: str) -> float:
        """VmRSS (now) or VmHWM (peak), in MB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        self.home.cleanup()


def start_bot(name: str, fake: FakeSlack, url: str, work: float, hello: str) -> Server:
    env = {
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": fake.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "RELEASE_CHANNEL_ID": CHANNEL,
        "RELEASE_ADMINS": "UADMIN",
        "HOST": "127.0.0.1",
        "DRY_RUN_DEPLOY_SECONDS": str(work),
        "DRY_RUN_STEP_SECONDS": str(work),
        "RELEASE_WINDOW_DAYS": "mon,tue,wed,thu,fri,sat,sun",
        "RELEASE_WINDOW_START": "00:00",
        "RELEASE_WINDOW_MINUTES": "1440",
    }
    return Server(name, lambda port: [sys.executable, str(ROOT / "app.py")], env, hello)


def start_bare(process_before_response: bool, hello: str) -> Server:
    def argv(port: int) -> list[str]:
        script = [sys.executable, str(ROOT / "bench" / "bare_bolt.py"), "--secret", SECRET]
        flag = ["--process-before-response"] if process_before_response else []
        return [*script, "--port", str(port), *flag]

    name = "bare Bolt, process_before_response" if process_before_response else "bare Bolt"
    return Server(name, argv, {}, hello)


# -- one level --------------------------------------------------------------------------------


@dataclass
class Row:
    app: str
    kind: str
    clients: int
    count: int
    rate: float  # requests/s, counted until the last acknowledgement and the last reply
    p50: float
    p95: float
    p99: float
    worst: float
    errors: int
    peak_mb: float
    ack_rate: float = 0.0  # requests/s counted until the last acknowledgement only


def percentile(ordered: list[float], p: float) -> float:
    """The nearest-rank percentile of sorted values."""
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def level(
    pool: ProcessPoolExecutor,
    server: Server,
    kind: str,
    bodies: list[str],
    clients: int,
    replies: Callable[[], int] | None,
) -> Row:
    """Fire `bodies` at `server`; when `replies` counts what the fake Slack received, wait
    until every request's reply is in (the bot's follow-up work done, not dropped): in the
    acknowledgement (a read-only command's answer) or sent to Slack after it."""
    before = replies() if replies else 0
    load = pool.submit(fire, server.port, [signed(server.port, b) for b in bodies], clients)
    result = load.result()
    ended = result.ended
    missing = 0
    if replies is not None:
        deadline = time.monotonic() + 60
        owed = len(bodies) - result.answered
        while replies() - before < owed and time.monotonic() < deadline:
            time.sleep(0.005)
        ended = max(ended, time.monotonic())
        missing = max(0, owed - (replies() - before))
    ordered = sorted(result.latencies)
    return Row(
        server.name,
        kind,
        clients,
        len(bodies),
        len(bodies) / (ended - result.began),
        percentile(ordered, 50) * 1000,
        percentile(ordered, 95) * 1000,
        percentile(ordered, 99) * 1000,
        (ordered[-1] if ordered else float("nan")) * 1000,
        result.errors + missing,
        server.memory("VmHWM"),
        len(bodies) / (result.ended - result.began),
    )


# -- the bot's setup: a release under review that the clicker already approved ----------------


def prepare(sim: SlackSimulator, fake: FakeSlack) -> Message:
    def run(user: str, text_: str) -> None:
        assert sim.command(user, text_).status_code == 200

    for user, role in CAST.items():
        run("UADMIN", f"role add <@{user}> {role}")
        fake.wait_for(partial(_said, fake, f"granted <@{user}>"), 30)
    run("UMANAGER", "start v1.0.0")
    fake.wait_for(lambda: _said(fake, "*v1.0.0* is on staging"), 120)
    run("UQA", "regression v1.0.0 pass <https://ci.example.com/runs/1>")
    review = fake.wait_for(
        lambda: next(
            (m for m in fake.channel_messages(CHANNEL) if m.text.startswith("Readiness review")),
            None,
        ),
        120,
    )
    sim.click(CLICKER, review, ReviewAction.APPROVE.value)
    fake.wait_for(lambda: any("Recorded your approval" in e.text for e in fake.ephemerals), 60)
    return review


def hello(sim: SlackSimulator) -> str:
    """The first request a new server is sent: `/release help`."""
    return sim.command_body("UWARM", "help")


def _said(fake: FakeSlack, fragment: str) -> bool:
    return any(fragment in m.text for m in fake.channel_messages(CHANNEL))


class Replies:
    """How many answers the fake Slack has received for `user` (read incrementally)."""

    def __init__(self, fake: FakeSlack, user: str) -> None:
        self.fake, self.user, self.seen, self.count = fake, user, 0, 0

    def __call__(self) -> int:
        new = self.fake.ephemerals[self.seen :]
        self.seen += len(new)
        self.count += sum(1 for e in new if e.user == self.user)
        return self.count


# -- the run ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--count", type=int, default=2000, help="requests at each level")
    parser.add_argument("--clients", default="1,10,50,200", help="concurrency levels")
    parser.add_argument("--work", type=float, default=5.0, help="seconds each slow call takes")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", PG_DEFAULT),
        help="admin URL of a PostgreSQL server for a scratch database ('' to skip)",
    )
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    print(f"machine: {os.cpu_count()} cores, {_cpu()}; Python {platform.python_version()}")
    print(f"{args.count} requests a level; every deploy and GitHub call takes {args.work:g} s\n")

    fake = FakeSlack(bot_token="xoxb-bench")
    fake.start()
    run = Run(fake, levels, args.count, args.work)
    try:
        with (
            ProcessPoolExecutor(1, mp_context=get_context("spawn")) as run.pool,
            tempfile.TemporaryDirectory() as tmp,
        ):
            run.bot("SQLite", f"sqlite:///{tmp}/bench.sqlite3")
            if args.postgres:
                with scratch_postgres(args.postgres) as url:
                    run.bot("PostgreSQL", url)
            for process_before_response in (False, True):
                run.bare(process_before_response)
    finally:
        fake.stop()
    print()
    report(run.rows, run.starts, run.slow_acks)


class Run:
    def __init__(self, fake: FakeSlack, levels: list[int], count: int, work: float) -> None:
        self.fake, self.levels, self.count, self.work = fake, levels, count, work
        self.pool: ProcessPoolExecutor
        self.rows: list[Row] = []
        self.starts: list[tuple[str, float, float]] = []  # (app, first ack s, idle MB)
        self.slow_acks: list[float] = []  # the `start` commands that set slow work going
        self.review: Message | None = None
        self.versions = iter(range(1, 100_000))
        self.unsent = SlackSimulator("http://unused", SECRET, fake, CHANNEL)  # bodies only

    def bodies(self, kind: str) -> list[str]:
        if kind == "status":
            return [self.unsent.command_body(ASKER, "status") for _ in range(self.count)]
        assert self.review is not None
        approve = ReviewAction.APPROVE.value
        return [self.unsent.click_body(CLICKER, self.review, approve) for _ in range(self.count)]

    def started(self, server: Server) -> None:
        time.sleep(2)  # settled: what it holds when nobody is asking anything
        self.starts.append((server.name, server.first_ack, server.memory("VmRSS")))

    def record(self, row: Row) -> None:
        self.rows.append(row)
        print(_line(row), flush=True)

    def bot(self, database: str, url: str) -> None:
        bot = start_bot(f"bot, {database}", self.fake, url, self.work, hello(self.unsent))
        self.started(bot)
        sim = SlackSimulator(
            f"http://127.0.0.1:{bot.port}/slack/events", SECRET, self.fake, CHANNEL
        )
        try:
            self.review = prepare(sim, self.fake)
            for kind, user in (("status", ASKER), ("click", CLICKER)):
                for clients in self.levels:
                    for _ in range(2):  # slow work under way while the level runs
                        began = time.monotonic()
                        sim.command("UMANAGER", f"start v2.{next(self.versions)}.0")
                        self.slow_acks.append(time.monotonic() - began)
                    replies = Replies(self.fake, user)
                    self.record(level(self.pool, bot, kind, self.bodies(kind), clients, replies))
        finally:
            sim.close()
            bot.stop()

    def bare(self, process_before_response: bool) -> None:
        bare = start_bare(process_before_response, hello(self.unsent))
        self.started(bare)
        try:
            for kind in ("status", "click"):
                for clients in self.levels:
                    self.record(level(self.pool, bare, kind, self.bodies(kind), clients, None))
        finally:
            bare.stop()


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _line(row: Row) -> str:
    return (
        f"{row.app:<38} {row.kind:<6} {row.clients:>3} clients: {row.rate:7.0f} req/s  "
        f"p50 {row.p50:6.1f}  p95 {row.p95:6.1f}  p99 {row.p99:6.1f}  max {row.worst:7.1f} ms  "
        f"errors {row.errors}  peak {row.peak_mb:.0f} MB  (acks alone {row.ack_rate:.0f}/s)"
    )


def report(rows: list[Row], starts: list[tuple[str, float, float]], slow_acks: list[float]) -> None:
    bare = [r for r in rows if r.app.startswith("bare")]
    best = {
        (r.kind, r.clients): max(b.rate for b in bare if (b.kind, b.clients) == (r.kind, r.clients))
        for r in bare
    }
    print(
        "| app | request | clients | req/s | best bare | ratio | p50 | p95 | p99 | max | errors |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        b = best.get((r.kind, r.clients), float("nan"))
        print(
            f"| {r.app} | {r.kind} | {r.clients} | {r.rate:,.0f} | {b:,.0f} | {r.rate / b:.2f} | "
            f"{r.p50:.1f} ms | {r.p95:.1f} ms | {r.p99:.1f} ms | {r.worst:,.0f} ms | {r.errors} |"
        )
    print()
    print("| app | first ack after start | idle memory | peak memory |")
    print("|---|---:|---:|---:|")
    for name, first, idle in starts:
        peak = max((r.peak_mb for r in rows if r.app == name), default=float("nan"))
        print(f"| {name} | {first:.2f} s | {idle:.0f} MB | {peak:.0f} MB |")
    print()
    print(verdicts([r for r in rows if r.app.startswith("bot")], starts, best, slow_acks))


def verdicts(
    bot: list[Row],
    starts: list[tuple[str, float, float]],
    best: dict[tuple[str, int], float],
    slow_acks: list[float],
) -> str:
    lines = []

    def check(ok: bool, target: str, measured: str) -> None:
        lines.append(f"{'met   ' if ok else 'MISSED'} {target}: {measured}")

    for r in bot:
        which = f"{r.app}, {r.kind}"
        if r.clients == 1:
            check(r.p50 <= 5, "p50 ack <= 5 ms at 1 client", f"{which} {r.p50:.1f} ms")
        if r.clients == 50:
            check(r.p99 < 100, "p99 ack < 100 ms at 50 clients", f"{which} {r.p99:.1f} ms")
        if r.clients in (10, 50):
            ratio = r.rate / best[(r.kind, r.clients)]
            check(
                ratio >= 0.5, f">= half the best bare Bolt at {r.clients}", f"{which} {ratio:.2f}"
            )
    worst = max([r.worst for r in bot] + [a * 1000 for a in slow_acks])
    errors = sum(r.errors for r in bot)
    check(
        worst < SLACK_DEADLINE * 1000 and not errors,
        "every ack within 3 s, every reply delivered",
        f"worst {worst:,.0f} ms, {errors} errors",
    )
    for name, first, idle in starts:
        if name.startswith("bot"):
            check(first < 1.5, "first ack < 1.5 s after start", f"{name} {first:.2f} s")
            check(idle < 150, "idle memory < 150 MB", f"{name} {idle:.0f} MB")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
