"""What a request must be before Bolt parses it: small, quick, signed, fresh and new.

Bolt reads and parses a body before it checks the signature, on the event loop, and logs
the whole of a rejected request. This guard runs first: it refuses an oversized body
before reading it, stops reading a body that dribbles in, checks the timestamp and the
signature on the raw bytes, refuses a signed request this instance has seen before (replays,
within Slack's five-minute window), and logs each refusal as one short line without the body.
Then it has Bolt's own parser read the body, once (`parsed`), and refuses the same way a
signed body Bolt could not make an object of.

It touches no database, so an acknowledgement never waits for one. A replay sent to another
instance passes its guard, but the command pool records every signature in the database
before it acts (bot.services.Services.hand_off), so that replay does nothing. What records
nothing (a read-only command's answer, a click refused from a read) is done again by its
replay: the same read, or the same click checked again (README, "Security").
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

log = logging.getLogger(__name__)

#: Slack's payloads are a few kilobytes; a modal submission with every block, tens.
MAX_BODY = 256 * 1024
#: How long a client may take to send its body.
READ_SECONDS = 10.0
#: Slack's window for a request's timestamp, either side of now.
FRESH_SECONDS = 5 * 60

_DIGITS = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


class Admitted(NamedTuple):
    """A request the guard let through, its body, and the signature and timestamp it
    verified."""

    request: Request
    body: bytes
    signed: tuple[str, int]


#: Where Bolt's request context carries `Admitted.signed` to the listeners.
SIGNED = "verified_signature"
#: Where it carries when the request arrived (time.monotonic()), before its body was read.
ARRIVED = "arrived_at"


class SeenHere:
    """Signatures this instance accepted within the freshness window, oldest first."""

    def __init__(self, now: Callable[[], float], keep_seconds: float = 2 * FRESH_SECONDS) -> None:
        self._now = now
        self._keep = keep_seconds
        self._seen: set[str] = set()
        self._order: deque[tuple[float, str]] = deque()

    def first(self, signature: str) -> bool:
        """Remember `signature`; False when it was accepted before (a replay)."""
        now = self._now()
        while self._order and self._order[0][0] < now - self._keep:
            self._seen.discard(self._order.popleft()[1])
        if signature in self._seen:
            return False
        self._seen.add(signature)
        self._order.append((now, signature))
        return True


class Refused(Exception):
    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


class RequestGuard:
    def __init__(
        self,
        signing_secret: str,
        *,
        max_body: int = MAX_BODY,
        read_seconds: float = READ_SECONDS,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._secret = signing_secret
        self._verifier = SignatureVerifier(signing_secret)
        self._seen = SeenHere(now)
        self._max_body = max_body
        self._read_seconds = read_seconds
        self._now = now

    async def admit(self, request: Request) -> Admitted | Response:
        """The request with its body read, ready for Bolt; or the response that refuses it."""
        try:
            if not self._secret:
                raise Refused(401, "no signing secret is configured")
            body = await self._read(request)
            text = _utf8(body)  # Slack sends UTF-8; the signature is checked on this text
            self._check_signature(request, text)
            signature = request.headers["x-slack-signature"]
            if not self._seen.first(signature):
                raise Refused(401, "replayed")
            signed = (signature, int(request.headers["x-slack-request-timestamp"]))
        except ClientDisconnect:
            return PlainTextResponse(_REASONS[400], status_code=400)  # nobody is listening
        except Refused as refused:
            return _refuse(request, refused)
        except Exception as error:  # whatever a hostile request finds: one line, no trace
            return _refuse(request, Refused(400, type(error).__name__))
        return Admitted(request, body, signed)

    def parsed(self, admitted: Admitted, context: dict[str, Any]) -> AsyncBoltRequest | Response:
        """The admitted request as Bolt's request, parsed once, by Bolt's own code (Bolt's
        Starlette adapter); refused (400, one line, no trace) when Bolt cannot parse it into
        an object: Bolt itself would fail on it with a stack trace."""
        try:
            parsed = to_async_bolt_request(admitted.request, admitted.body, context)
            if not isinstance(parsed.body, dict):
                raise Refused(400, "payload is not an object")
        except Refused as refused:
            return _refuse(admitted.request, refused)
        except Exception as error:  # not JSON (ValueError), not an object (Bolt trips on it)
            why = f"payload Bolt cannot read ({type(error).__name__})"
            return _refuse(admitted.request, Refused(400, why))
        return parsed

    async def _read(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and (
            not _DIGITS.fullmatch(declared) or int(declared) > self._max_body
        ):
            raise Refused(413, f"declared body of {declared[:20]} bytes")
        chunks: list[bytes] = []
        size = 0

        async def read_all() -> None:
            nonlocal size
            async for chunk in request.stream():
                size += len(chunk)
                if size > self._max_body:
                    raise Refused(413, "body over the limit")
                chunks.append(chunk)

        try:
            await asyncio.wait_for(read_all(), self._read_seconds)
        except TimeoutError:
            raise Refused(408, "body too slow") from None
        return b"".join(chunks)

    def _check_signature(self, request: Request, body: str) -> None:
        for name in ("x-slack-request-timestamp", "x-slack-signature"):
            if len(request.headers.getlist(name)) > 1:  # which one would the next reader use?
                raise Refused(401, f"repeated {name} header")
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        if not _DIGITS.fullmatch(timestamp):  # ASCII digits only: `²` is a digit to Python
            raise Refused(401, "malformed timestamp")
        if abs(self._now() - int(timestamp)) > FRESH_SECONDS:
            raise Refused(401, "stale timestamp")
        if not _SIGNATURE.fullmatch(signature):
            raise Refused(401, "malformed signature")
        expected = self._verifier.generate_signature(timestamp=timestamp, body=body)
        if expected is None or not hmac.compare_digest(expected, signature):
            raise Refused(401, "bad signature")


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "body is not UTF-8") from None


def _refuse(request: Request, refused: Refused) -> Response:
    client = request.client.host if request.client else "?"
    log.warning("refused a request from %s: %s (%s)", client, refused, refused.status)
    return PlainTextResponse(_REASONS[refused.status], status_code=refused.status)


_REASONS = {
    400: "Bad request",
    401: "Invalid request signature",
    408: "Request body too slow",
    413: "Request body too large",
}
