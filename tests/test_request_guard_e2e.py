"""Hostile requests are refused before Bolt parses them, quickly, quietly and without a trace."""

from __future__ import annotations

import contextlib
import hmac
import logging
import re
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from bot import request_guard
from bot.console.local import SIGNING_SECRET, LocalBot
from bot.views.review import ReviewAction
from tests.harness import ADMIN, SECURITY, Harness

SECRET_MARKER = "do-not-log-this-body"


def _signed_headers(body: bytes, timestamp: str | None = None) -> dict[str, str]:
    ts = timestamp or str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=ts, body=body)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature or "",
    }


def _events(bot: Harness) -> str:
    return f"{bot.local.url}/slack/events"


def test_an_oversized_body_gets_413_before_it_is_read(bot: Harness) -> None:
    big = b"text=" + b"x" * (request_guard.MAX_BODY + 1)
    response = httpx.post(_events(bot), content=big, headers=_signed_headers(big))
    assert response.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: it is counted as it arrives
        for _ in range(request_guard.MAX_BODY // 1024 + 2):
            yield b"x" * 1024

    response = httpx.post(_events(bot), content=chunks(), headers=_signed_headers(b""))
    assert response.status_code == 413


def test_a_body_that_dribbles_in_is_cut_off(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(request_guard, "READ_SECONDS", 1.0)
    bot = Harness.start(database_url)
    try:
        port = int(bot.local.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(
                b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n\r\ntext="
            )
            began = time.monotonic()
            answer = conn.recv(1024)
        assert answer.startswith(b"HTTP/1.1 408")
        assert time.monotonic() - began < 5
        assert httpx.get(f"{bot.local.url}/healthz").status_code == 200
    finally:
        bot.stop()


@pytest.mark.parametrize("timestamp", ["abc", "", "9" * 5000, "-1", "1.5", "²".encode("latin-1")])
def test_a_malformed_timestamp_gets_401_and_no_trace(
    bot: Harness, timestamp: str | bytes, caplog: pytest.LogCaptureFixture
) -> None:
    body = urlencode({"text": "status", "user_id": ADMIN}).encode()
    headers = {k.encode(): v.encode() for k, v in _signed_headers(body).items()}
    headers[b"X-Slack-Request-Timestamp"] = (
        timestamp if isinstance(timestamp, bytes) else timestamp.encode()
    )
    response = httpx.post(_events(bot), content=body, headers=headers)
    assert response.status_code == 401
    assert not [r for r in caplog.records if r.exc_info]


def test_signed_but_unparseable_bodies_get_400_and_no_trace(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    for body in (b"payload=%7Bnot+json", b"payload=%5B1%2C2%5D"):
        response = httpx.post(_events(bot), content=body, headers=_signed_headers(body))
        assert response.status_code == 400, body
    raw = b"\xff\xfe\xfa not utf-8"  # signed the way Slack signs, over the raw bytes
    ts = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + raw, "sha256")
    headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + digest.hexdigest()}
    assert httpx.post(_events(bot), content=raw, headers=headers).status_code == 400
    assert not [r for r in caplog.records if r.exc_info]


def test_a_replayed_request_is_refused_and_runs_once(bot: Harness) -> None:
    first = bot.sim.command(ADMIN, "role add <@UBOB|bob> qa")
    assert first.status_code == 200
    request = first.request
    again = httpx.post(request.url, content=request.content, headers=request.headers)
    assert again.status_code == 401
    bot.wait_said("granted <@UBOB> the QA role")
    bot.fake.wait_quiet()
    assert sum("granted <@UBOB>" in t for t in bot.said()) == 1
    assert bot.rows("SELECT COUNT(*) FROM seen_requests")[0][0] >= 1


def test_a_request_replayed_to_another_instance_is_acknowledged_there_and_does_nothing(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Each instance's guard remembers its own requests; the database catches the rest."""
    first = Harness.start(database_url)
    second = Harness(LocalBot.start(database_url, admins=(ADMIN,), fake=first.fake))
    try:
        sent = first.sim.command(ADMIN, "role add <@UBOB|bob> qa")
        assert sent.status_code == 200
        first.wait_said("granted <@UBOB> the QA role")
        request = sent.request
        url = second.local.url + "/slack/events"
        replayed = httpx.post(url, content=request.content, headers=request.headers)
        assert replayed.status_code == 200  # its guard never saw it: acknowledged
        first.fake.wait_for(
            lambda: any("accepted by another instance" in r.getMessage() for r in caplog.records)
        )
        first.fake.wait_quiet()
        assert sum("granted <@UBOB>" in t for t in first.said()) == 1
        assert first.count("role_grants") == 1
    finally:
        second.stop()
        first.stop()


@pytest.mark.parametrize(
    ("name", "extra"), [("X-Slack-Request-Timestamp", "x"), ("X-Slack-Signature", "v0=" + "0" * 64)]
)
def test_a_request_with_a_second_slack_header_is_refused(
    bot: Harness, name: str, extra: str
) -> None:
    """Which of two headers a reader takes is a guess: a request that repeats one is refused."""
    body = bot.sim.command_body(ADMIN, "role add <@UBOB|bob> qa").encode()
    headers = [*_signed_headers(body).items(), (name, extra)]
    assert httpx.post(_events(bot), content=body, headers=headers).status_code == 401
    # refused before Bolt saw it: nothing was handed to the pool, now or later
    assert bot.count("seen_requests") == 0
    signed = _signed_headers(body)  # the same request with one of each header does run
    assert httpx.post(_events(bot), content=body, headers=signed).status_code == 200
    bot.wait_said("granted <@UBOB> the QA role")


def test_a_sign_off_the_database_cannot_record_is_not_kept_and_the_reviewer_is_told(
    bot: Harness,
) -> None:
    """A modal has no response URL: the reviewer hears it in the channel, only they see it."""
    review = bot.to_review()
    bot.sim.click(SECURITY, bot.current(review), ReviewAction.REJECT.value)
    modal = bot.wait_modal(SECURITY)
    with bot.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE seen_requests")
    assert bot.submit_reason(SECURITY, modal, "pen test open").status_code == 200
    bot.fake.wait_for(
        lambda: [
            e for e in bot.fake.ephemerals_for(SECURITY) if "cannot reach my database" in e.text
        ]
    )
    bot.fake.wait_quiet()
    assert bot.count("sign_offs") == 0


def test_a_request_the_database_cannot_record_is_not_carried_out_and_the_user_is_told(
    bot: Harness,
) -> None:
    """Acknowledged at once; then the database is gone: nothing is done, and they hear why."""
    with bot.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE seen_requests")  # every insert now fails
    assert bot.sim.command(ADMIN, "role add <@UBOB|bob> qa").status_code == 200
    told = bot.fake.wait_for(
        lambda: [e for e in bot.fake.ephemerals_for(ADMIN) if "cannot reach my database" in e.text]
    )
    assert told[0].text.startswith("I cannot reach my database right now, so nothing was done.")
    bot.fake.wait_quiet()
    assert bot.count("role_grants") == 0
    assert not [t for t in bot.said() if "granted" in t]


def test_a_refusal_is_logged_in_one_short_line_without_the_body(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = urlencode({"text": SECRET_MARKER, "response_url": "https://hooks.slack.com/x"}).encode()
    headers = _signed_headers(body, timestamp=str(int(time.time()) - 3600))  # stale
    assert httpx.post(_events(bot), content=body, headers=headers).status_code == 401
    logged = [r.getMessage() for r in caplog.records]
    assert any("stale timestamp" in line for line in logged)
    assert not [line for line in logged if SECRET_MARKER in line or "hooks.slack.com" in line]
    assert all(len(line) < 300 for line in logged if "refused a request" in line)


@pytest.mark.parametrize("value", ["²", "١", "1" * 40, "-1", " 1"])
def test_odd_review_ids_on_a_button_change_nothing_and_raise_nothing(
    bot: Harness, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    review = bot.to_review()
    before = bot.snapshot()
    message = bot.current(review)
    for block in message.blocks:
        for element in block.get("elements") or []:
            if element.get("action_id") == "review_approve":
                element["value"] = value
    response = bot.sim.click("UTECHLEAD", message, "review_approve")
    assert response.status_code == 200
    bot.wait_told("UTECHLEAD", "does not belong to a review I know; nothing was recorded")
    assert bot.snapshot() == before
    assert not [r for r in caplog.records if r.exc_info]


def test_connections_that_dribble_their_headers_are_closed_and_health_still_answers(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import server

    monkeypatch.setattr(server, "HEAD_SECONDS", 1.0)
    bot = Harness.start(database_url)
    port = int(bot.local.url.rsplit(":", 1)[1])
    slow = []
    try:
        for _ in range(200):
            conn = socket.create_connection(("127.0.0.1", port), timeout=10)
            conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")  # and never the rest
            slow.append(conn)
        assert httpx.get(f"{bot.local.url}/healthz", timeout=5).status_code == 200
        time.sleep(1.5)
        closed = 0
        for conn in slow:
            conn.settimeout(5)
            if conn.recv(1024) == b"":
                closed += 1
        assert closed == len(slow)
        assert httpx.get(f"{bot.local.url}/healthz", timeout=5).status_code == 200
        assert bot.sim.command(ADMIN, "role list").status_code == 200  # and real work goes on
    finally:
        for conn in slow:
            conn.close()
        bot.stop()


def _exchange(bot: Harness, data: bytes) -> bytes:
    """Send raw `data` on one connection; all the server answers before it closes it."""
    port = int(bot.local.url.rsplit(":", 1)[1])
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(data)
        with contextlib.suppress(ConnectionResetError):
            while chunk := conn.recv(4096):
                answer += chunk
    return answer


def _endless(bot: Harness, start: bytes) -> tuple[int, bytes]:
    """Send `start`, then `a` after `a` until the server stops reading (at most 64 MiB):
    how many bytes of `a` went out, and what the server answered."""
    port = int(bot.local.url.rsplit(":", 1)[1])
    sent, answer = 0, b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(start)
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            while sent < 64 * 1024 * 1024:
                conn.sendall(b"a" * 65536)
                sent += 65536
        with contextlib.suppress(ConnectionResetError):
            while chunk := conn.recv(4096):
                answer += chunk
    return sent, answer


def test_a_request_head_over_16_kib_gets_400_and_the_connection_is_closed(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """httptools sets no limit on a head of its own: the server keeps h11's (16 KiB)."""
    answer = _exchange(
        bot,
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-Padding-%d: %s\r\n" % (n, b"a" * 1000) for n in range(24)),  # 24 KiB
    )
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert not [r for r in caplog.records if r.exc_info]
    # A head just under the limit, as big as any real one can be, is still read.
    padded = httpx.get(f"{bot.local.url}/healthz", headers={"X-Padding": "a" * 15_000}, timeout=5)
    assert padded.status_code == 200


def test_a_header_that_never_ends_is_refused_before_it_is_all_sent(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """The parser keeps a header until it ends: the limit counts bytes as they arrive, so
    one endless header is refused early, and health goes on answering meanwhile."""
    sent, answer = _endless(bot, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
    assert sent < 8 * 1024 * 1024  # refused long before the end
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400 ")  # (a reset may eat it)
    assert httpx.get(f"{bot.local.url}/healthz", timeout=5).status_code == 200
    assert not [r for r in caplog.records if r.exc_info]


def test_pipelined_requests_are_answered_in_order_before_a_head_too_large_is_refused(
    bot: Harness,
) -> None:
    health = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 24 * 1024 + b"\r\n\r\n"
    answer = _exchange(bot, health + health + big)
    statuses = re.findall(rb"HTTP/1\.1 (\d{3})", answer)  # (one body runs into the next head)
    assert statuses == [b"200", b"200", b"400"]


def test_a_request_that_closes_its_connection_is_answered_whatever_follows_it(
    bot: Harness,
) -> None:
    """The parser skips what follows a closing request: that is not a head to refuse."""
    answer = _exchange(
        bot,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        + b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\n\r\n"
        + b"x" * 20000,
    )
    assert re.findall(rb"HTTP/1\.1 (\d{3})", answer) == [b"200"]


def test_an_endless_trailer_is_refused_as_it_arrives(bot: Harness) -> None:
    """A chunked body's trailers are kept by the parser like headers: bounded the same way."""
    sent, _ = _endless(
        bot,
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\nX-Trailer: ",
    )
    assert sent < 8 * 1024 * 1024  # refused long before the end
    assert httpx.get(f"{bot.local.url}/healthz", timeout=5).status_code == 200


def test_a_signature_with_odd_characters_gets_401_and_no_trace(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    body = b"text=status"
    headers = {k.encode(): v.encode() for k, v in _signed_headers(body).items()}
    headers[b"X-Slack-Signature"] = ("v0=" + "é" * 64).encode("latin-1")
    assert httpx.post(_events(bot), content=body, headers=headers).status_code == 401
    assert not [r for r in caplog.records if r.exc_info]
