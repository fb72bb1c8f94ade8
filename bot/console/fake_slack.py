"""A local stand-in for Slack's Web API that records what the bot says.

It answers the methods the bot calls with Slack's shapes, checks arguments the way Slack
does (token, required and unknown arguments, expired trigger IDs, unknown messages),
and keeps every message, ephemeral and modal so a console or a test can read them.

Tests can also make it fail every way Slack does: an HTTP error status (`fail_next`), an
`ok: false` answer (`fail_with`), a slow answer (`hang_next`), a dropped connection
(`reset_next`), a lasting outage (`fail_always` / `heal`) and a message someone deleted
(`delete_message`). Every call is recorded in `calls`, failed or not.

Files arrive as `files_upload_v2` sends them: files.getUploadURLExternal gives an upload
URL on this server, the bytes are POSTed there (faults name that step `UPLOAD`), and
files.completeUploadExternal shares them; shared files are kept in `files`.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, TypeVar
from urllib.parse import parse_qs

from bot.console.loopback import LoopbackServer, QuietHandler, drop_connection

# Required and known arguments, copied from Slack's method reference for the calls we make.
METHODS: dict[str, tuple[set[str], set[str]]] = {
    "auth.test": (set(), set()),
    "apps.connections.open": (set(), set()),
    "chat.postMessage": (
        {"channel"},
        {
            "attachments",
            "blocks",
            "channel",
            "icon_emoji",
            "icon_url",
            "link_names",
            "metadata",
            "mrkdwn",
            "parse",
            "reply_broadcast",
            "text",
            "thread_ts",
            "unfurl_links",
            "unfurl_media",
            "username",
            "markdown_text",
        },
    ),
    "chat.update": (
        {"channel", "ts"},
        {
            "attachments",
            "blocks",
            "channel",
            "file_ids",
            "link_names",
            "metadata",
            "parse",
            "reply_broadcast",
            "text",
            "ts",
            "markdown_text",
        },
    ),
    "chat.postEphemeral": (
        {"channel", "user"},
        {
            "attachments",
            "blocks",
            "channel",
            "icon_emoji",
            "icon_url",
            "link_names",
            "parse",
            "text",
            "thread_ts",
            "user",
            "username",
            "markdown_text",
        },
    ),
    "files.getUploadURLExternal": (
        {"filename", "length"},
        {"alt_txt", "filename", "length", "snippet_type"},
    ),
    "files.completeUploadExternal": (
        {"files"},
        {
            "blocks",
            "channel_id",
            "channels",
            "files",
            "icon_emoji",
            "icon_url",
            "initial_comment",
            "thread_ts",
            "username",
        },
    ),
    "views.open": ({"view"}, {"trigger_id", "interactivity_pointer", "view"}),
    "views.publish": ({"user_id", "view"}, {"user_id", "view", "hash"}),
    "views.update": ({"view"}, {"external_id", "hash", "view", "view_id"}),
}

T = TypeVar("T")
#: The "method" a fault names to fail, hang or reset posts to a response URL.
RESPONSE_URL = "response_url"
TRIGGER_LIFETIME = 3.0  # seconds Slack honours a trigger_id for
#: The POST of a file's bytes to its upload URL, as `calls` and the faults name it.
UPLOAD = "upload"


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    edits: int = 0


@dataclass
class Ephemeral:
    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class UploadedFile:
    """A file shared in a channel: its bytes, and the comment it was shared with."""

    channel: str
    filename: str
    title: str
    content: bytes
    comment: str = ""
    id: str = ""
    ts: str = ""  # when it was shared, in the same order as messages' ts

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class _PendingUpload:
    filename: str
    length: int
    content: bytes | None = None  # None until its bytes are POSTed to the upload URL


@dataclass
class OpenedView:
    id: str
    user: str
    view: dict[str, Any]


@dataclass(frozen=True)
class _Fault:
    status: int = 200
    payload: dict[str, Any] | None = None  # None: the call is processed as usual
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds the answer is held back
    reset: bool = False  # drop the connection instead of answering

    def refusal(self) -> _Reply | None:
        """The answer that replaces the call's own (an error, a reset); None: none does."""
        if self.payload is None and not self.reset:
            return None
        return _Reply(self.status, self.payload or {}, self.headers, self.delay, self.reset)


@dataclass(frozen=True)
class _Reply:
    status: int
    payload: dict[str, Any]
    headers: dict[str, str]
    delay: float = 0.0
    reset: bool = False
    text: str | None = None  # a plain-text body instead of the JSON payload


def _http_fault(status: int, error: str | None, headers: dict[str, str] | None) -> _Fault:
    if error is None:
        error = {429: "ratelimited"}.get(status, "internal_error" if status >= 500 else "error")
    if headers is None:
        headers = {"Retry-After": "1"} if status == 429 else {}
    return _Fault(status, {"ok": False, "error": error}, headers)


@dataclass
class _ResponseUrl:
    channel: str
    user: str
    uses: int = 0


class FakeSlack(LoopbackServer):
    def __init__(
        self,
        bot_token: str = "xoxb-console",  # noqa: S107 (the fake's own stand-in token)
        team_id: str = "T0CONSOLE",
        bot_user_id: str = "UBOT",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.bot_token = bot_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self._clock = clock
        self._lock = threading.Condition()
        self._ts = itertools.count(1)
        self.messages: dict[tuple[str, str], Message] = {}
        self.ephemerals: list[Ephemeral] = []
        self.views: list[OpenedView] = []
        self.homes: dict[str, dict[str, Any]] = {}  # each user's published Home tab
        self.files: list[UploadedFile] = []
        self._uploads: dict[str, _PendingUpload] = {}  # by file ID, until completed
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.events = 0  # bumps on everything the bot says; a console waits for quiet
        self._triggers: dict[str, tuple[str, float]] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._faults: dict[str, list[_Fault]] = {}  # one-shot faults, by method or "*"
        self._outages: dict[str, _Fault] = {}  # lasting faults, by method or "*"
        self._succeeded: set[int] = set()  # indexes into `calls` that were answered ok
        self.app_token = "xapp-console"  # noqa: S105 (the fake's own stand-in token)
        self.socket_mode_url = ""  # where apps.connections.open sends a Socket Mode client

    # -- life cycle -----------------------------------------------------------------

    def start(self) -> str:
        super().start()
        return self.api_url

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.startswith("/upload/"):  # a file's bytes, as they are
                    reply = fake._handle_upload(self.path.removeprefix("/upload/"), raw)
                else:
                    reply = fake._handle(
                        self.path,
                        self.headers.get("Content-Type", ""),
                        self.headers.get("Authorization", ""),
                        raw.decode(),
                    )
                stopped = reply.delay > 0 and fake._stopping.wait(reply.delay)
                if reply.reset or stopped:
                    drop_connection(self)
                    return
                if reply.text is not None:
                    body, kind = reply.text.encode(), "text/plain; charset=utf-8"
                else:
                    body, kind = json.dumps(reply.payload).encode(), "application/json"
                with contextlib.suppress(ConnectionError):  # a client that gave up waiting
                    self.send_response(reply.status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)

        return Handler

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/"

    # -- what tests and the console use -----------------------------------------------

    def issue_trigger(self, user: str) -> str:
        trigger = f"{next(self._ts)}.{secrets.token_hex(6)}"
        with self._lock:
            self._triggers[trigger] = (user, self._clock())
        return trigger

    def response_url(self, channel: str, user: str) -> str:
        token = secrets.token_hex(8)
        with self._lock:
            self._response_urls[token] = _ResponseUrl(channel, user)
        return f"{self.base_url}/response/{token}"

    # Faults. `method` is a Web API method such as "chat.postMessage", or "*" for every
    # method. Queued one-shot faults are used up in order (the method's own before "*"'s),
    # and come before a lasting outage.

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        error: str | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Fail the next `times` calls of `method` with HTTP `status` and `{ok: false}`.

        `error` defaults to "ratelimited" for 429 and "internal_error" for 5xx; `headers`
        default to `Retry-After: 1` for 429 and none otherwise.
        """
        self._queue(method, _http_fault(status, error, headers), times)

    def fail_with(self, method: str, error: str, *, times: int = 1) -> None:
        """Answer the next `times` calls with HTTP 200 `{"ok": false, "error": error}`."""
        self._queue(method, _Fault(payload={"ok": False, "error": error}), times)

    def hang_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Hold back the answer to the next `times` calls for `seconds`.

        The call takes effect at once (a message is posted, and counts in `sent`); only
        the answer is late, as when Slack did the work but the client timed out.
        """
        self._queue(method, _Fault(delay=seconds), times)

    def reset_next(self, method: str, *, times: int = 1) -> None:
        """Reset the connection of the next `times` calls without answering (no effect)."""
        self._queue(method, _Fault(reset=True), times)

    def fail_always(self, method: str, status: int = 500, *, error: str | None = None) -> None:
        """Fail every call of `method` ("*": of all methods) as `fail_next` does, until `heal`."""
        with self._lock:
            self._outages[method] = _http_fault(status, error, None)

    def heal(self, method: str | None = None) -> None:
        """End the outage of `method` and drop its queued faults (None: of every method)."""
        with self._lock:
            for faults in (self._outages, self._faults):
                if method is None:
                    faults.clear()
                else:
                    faults.pop(method, None)

    def delete_message(self, channel: str, ts: str) -> None:
        """Delete a message as a person would in Slack; later updates get message_not_found."""
        with self._lock:
            del self.messages[(channel, ts)]
            self._lock.notify_all()

    def count(self, method: str) -> int:
        """How many calls of `method` arrived, failed ones included."""
        with self._lock:
            return sum(m == method for m, _ in self.calls)

    def sent(self, method: str) -> list[dict[str, Any]]:
        """The arguments of the calls of `method` that Slack answered with ok: true."""
        with self._lock:
            return [
                args
                for i, (m, args) in enumerate(self.calls)
                if m == method and i in self._succeeded
            ]

    def _queue(self, method: str, fault: _Fault, times: int) -> None:
        with self._lock:
            self._faults.setdefault(method, []).extend([fault] * times)

    def _take_fault(self, method: str, *, wildcard: bool = True) -> _Fault | None:
        """The next fault queued for `method` (or, with `wildcard`, for every method), else
        a lasting outage of it."""
        keys = (method, "*") if wildcard else (method,)
        for key in keys:
            if self._faults.get(key):
                return self._faults[key].pop(0)
        return next((self._outages[key] for key in keys if key in self._outages), None)

    def channel_messages(self, channel: str) -> list[Message]:
        with self._lock:
            return [m for (c, _), m in self.messages.items() if c == channel]

    def files_in(self, channel: str) -> list[UploadedFile]:
        """The files shared in `channel`, oldest first."""
        with self._lock:
            return [f for f in self.files if f.channel == channel]

    def show_acknowledgement(self, channel: str, user: str, body: dict[str, Any]) -> None:
        """Show what an app put in its acknowledgement, as Slack does: to `user` alone."""
        with self._lock:
            self.ephemerals.append(
                Ephemeral(channel, user, str(body.get("text") or ""), _blocks(body.get("blocks")))
            )
            self.events += 1
            self._lock.notify_all()

    def ephemerals_for(self, user: str) -> list[Ephemeral]:
        with self._lock:
            return [e for e in self.ephemerals if e.user == user]

    def wait_for(self, predicate: Callable[[], T | None], timeout: float = 10.0) -> T:
        """Wait until `predicate()` is truthy (re-checked on every call the bot makes)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                result = predicate()
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("the bot did not say what was expected in time")
                self._lock.wait(min(left, 0.05))

    def wait_quiet(self, quiet: float = 0.3, timeout: float = 15.0, *, strict: bool = True) -> None:
        """Wait until the bot has said nothing for `quiet` seconds.

        It never went quiet within `timeout`: a test fails (TimeoutError); the console,
        which passes `strict=False`, shows what there is so far.
        """
        deadline = time.monotonic() + timeout
        last, since = self.events, time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.02)
            if self.events != last:
                last, since = self.events, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
        if strict:
            raise TimeoutError(f"the bot kept talking for {timeout:g} s")

    # -- the HTTP side ----------------------------------------------------------------

    def _handle(self, path: str, content_type: str, authorization: str, raw: str) -> _Reply:
        if path.startswith("/response/"):
            with self._lock:  # only faults for RESPONSE_URL itself, not "*"
                fault = self._take_fault(RESPONSE_URL, wildcard=False) or _Fault()
            return fault.refusal() or _Reply(
                *self._respond(path.removeprefix("/response/"), raw), fault.delay
            )
        method = path.removeprefix("/api/")
        args = _parse_args(content_type, raw)
        token = authorization.removeprefix("Bearer ").strip() or str(args.pop("token", ""))
        args.pop("token", None)
        with self._lock:
            index = len(self.calls)
            self.calls.append((method, args))
            fault = self._take_fault(method) or _Fault()
        if refused := fault.refusal():
            return refused
        status, payload, headers = self._call(method, token, args)
        if payload.get("ok"):
            with self._lock:
                self._succeeded.add(index)
        return _Reply(status, payload, headers, fault.delay)

    def _handle_upload(self, file_id: str, content: bytes) -> _Reply:
        """The POST of a file's bytes to the URL files.getUploadURLExternal gave.

        Slack answers it with HTTP 200 and a plain-text "OK - <length>"; the URL is its
        own credential, so no token is asked for.
        """
        with self._lock:
            index = len(self.calls)
            self.calls.append((UPLOAD, {"file_id": file_id, "length": len(content)}))
            fault = self._take_fault(UPLOAD) or _Fault()
            if refused := fault.refusal():
                return refused
            pending = self._uploads.get(file_id)
            if pending is None:
                return _Reply(404, {}, {}, fault.delay, text="Not Found")
            pending.content = content
            self._succeeded.add(index)
            self.events += 1
            self._lock.notify_all()
        return _Reply(200, {}, {}, fault.delay, text=f"OK - {len(content)}")

    def _call(
        self, method: str, token: str, args: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if token != expected:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        if method not in METHODS:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        required, known = METHODS[method]
        missing = sorted(required - set(args))
        unknown = sorted(set(args) - known)
        if missing or unknown:
            return (
                200,
                {
                    "ok": False,
                    "error": "invalid_arguments",
                    "response_metadata": {
                        "messages": [f"[ERROR] missing required field: {m}" for m in missing]
                        + [f"[ERROR] unknown field: {u}" for u in unknown]
                    },
                },
                {},
            )
        with self._lock:
            answer = getattr(self, "_" + method.replace(".", "_"))(args)
            self.events += 1
            self._lock.notify_all()
        return 200, answer, {}

    def _auth_test(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://console.slack.invalid/",
            "team": "Console",
            "user": "release-bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": "BCONSOLE",
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, _args: dict[str, Any]) -> dict[str, Any]:
        if not self.socket_mode_url:
            return {"ok": False, "error": "socket_mode_not_enabled"}
        return {"ok": True, "url": self.socket_mode_url}

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        blocks = _blocks(args.get("blocks"))
        if not args.get("text") and not blocks:
            return {"ok": False, "error": "no_text"}
        if (refused := _over_limits(args, blocks)) is not None:
            return refused
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        message = Message(args["channel"], ts, str(args.get("text") or ""), blocks)
        self.messages[(message.channel, ts)] = message
        return {
            "ok": True,
            "channel": message.channel,
            "ts": ts,
            "message": {
                "type": "message",
                "text": message.text,
                "blocks": blocks,
                "user": self.bot_user_id,
                "ts": ts,
            },
        }

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self.messages.get((args["channel"], args["ts"]))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if (refused := _over_limits(args, _blocks(args.get("blocks")))) is not None:
            return refused
        if "text" in args:
            message.text = str(args["text"])
        if "blocks" in args:
            message.blocks = _blocks(args["blocks"])
        message.edits += 1
        return {"ok": True, "channel": message.channel, "ts": message.ts, "text": message.text}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        if (refused := _over_limits(args, _blocks(args.get("blocks")))) is not None:
            return refused
        self.ephemerals.append(
            Ephemeral(
                args["channel"],
                args["user"],
                str(args.get("text") or ""),
                _blocks(args.get("blocks")),
            )
        )
        return {"ok": True, "message_ts": f"{int(time.time())}.{next(self._ts):06d}"}

    def _files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        try:
            length = int(args["length"])
        except (TypeError, ValueError):
            return {"ok": False, "error": "invalid_arguments"}
        if length < 1:
            return {"ok": False, "error": "missing_argument"}
        file_id = f"F{next(self._ts):010d}"
        self._uploads[file_id] = _PendingUpload(str(args["filename"]), length)
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        try:
            items = args["files"] if isinstance(args["files"], list) else json.loads(args["files"])
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            return {"ok": False, "error": "invalid_arguments"}
        uploads = [(i, self._uploads.get(str(i.get("id")))) for i in items]
        if not items or any(u is None or u.content is None for _, u in uploads):
            return {"ok": False, "error": "file_not_found"}
        channels = [args["channel_id"]] if args.get("channel_id") else []
        channels += [c for c in str(args.get("channels") or "").split(",") if c]
        comment = str(args.get("initial_comment") or "")
        shared = []
        for item, upload in uploads:
            assert upload is not None and upload.content is not None
            del self._uploads[str(item["id"])]
            title = str(item.get("title") or upload.filename)
            created = int(time.time())
            for channel in channels:  # none: the file stays private to the bot
                ts = f"{created}.{next(self._ts):06d}"
                self.files.append(
                    UploadedFile(
                        channel, upload.filename, title, upload.content, comment, item["id"], ts
                    )
                )
            shared.append(
                {
                    "id": item["id"],
                    "title": title,
                    "name": upload.filename,
                    "size": len(upload.content),
                    "created": created,
                    "user": self.bot_user_id,
                }
            )
        return {"ok": True, "files": shared}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args["view"] if isinstance(args["view"], dict) else json.loads(args["view"])
        if view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        blocks = view.get("blocks") or []
        if len(blocks) > 100:  # Slack's limit for a view
            return {"ok": False, "error": "invalid_blocks"}
        self.homes[str(args["user_id"])] = view
        return {"ok": True, "view": {"id": f"V{next(self._ts):08d}", **view}}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = self._triggers.pop(str(args.get("trigger_id")), None)
        if trigger is None:
            return {"ok": False, "error": "invalid_trigger_id"}
        user, issued = trigger
        if self._clock() - issued > TRIGGER_LIFETIME:
            return {"ok": False, "error": "expired_trigger_id"}
        view = args["view"] if isinstance(args["view"], dict) else json.loads(args["view"])
        opened = OpenedView(f"V{next(self._ts):08d}", user, view)
        self.views.append(opened)
        return {"ok": True, "view": {"id": opened.id, **view}}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args["view"] if isinstance(args["view"], dict) else json.loads(args["view"])
        for opened in self.views:
            if opened.id == args.get("view_id"):
                opened.view = view
                return {"ok": True, "view": {"id": opened.id, **view}}
        return {"ok": False, "error": "not_found"}

    def _respond(self, token: str, raw: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            target = self._response_urls.get(token)
            if target is None or target.uses >= 5:  # Slack allows five uses of a response_url
                return 404, {"ok": False, "error": "expired_url"}, {}
            target.uses += 1
            payload = json.loads(raw or "{}")
            refused = _over_limits(payload, _blocks(payload.get("blocks")))
            if refused is not None:
                return 400, refused, {}
            self.ephemerals.append(
                Ephemeral(
                    target.channel,
                    target.user,
                    str(payload.get("text") or ""),
                    _blocks(payload.get("blocks")),
                )
            )
            self.events += 1
            self._lock.notify_all()
        return 200, {"ok": True}, {}


def _parse_args(content_type: str, raw: str) -> dict[str, Any]:
    if "json" in content_type:
        parsed = json.loads(raw or "{}")
        return dict(parsed) if isinstance(parsed, dict) else {}
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


#: Slack's limits, as its API enforces them: a message's text, and Block Kit's.
TEXT_LIMIT = 40_000
BLOCKS_LIMIT, SECTION_TEXT_LIMIT, FIELDS_LIMIT, FIELD_TEXT_LIMIT, HEADER_LIMIT = (
    50,
    3000,
    10,
    2000,
    150,
)


def _over_limits(args: dict[str, Any], blocks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Slack's answer to a message over its limits (None when it fits)."""
    if len(str(args.get("text") or "")) > TEXT_LIMIT:
        return {"ok": False, "error": "msg_too_long"}
    problems = []
    if len(blocks) > BLOCKS_LIMIT:
        problems.append(f"more than {BLOCKS_LIMIT} blocks")
    for n, block in enumerate(blocks):
        text = str((block.get("text") or {}).get("text", ""))
        if block.get("type") == "header" and len(text) > HEADER_LIMIT:
            problems.append(f"blocks[{n}].text must be at most {HEADER_LIMIT} characters")
        if block.get("type") == "section":
            if len(text) > SECTION_TEXT_LIMIT:
                problems.append(f"blocks[{n}].text must be at most {SECTION_TEXT_LIMIT} characters")
            fields = block.get("fields") or []
            if len(fields) > FIELDS_LIMIT:
                problems.append(f"blocks[{n}].fields: at most {FIELDS_LIMIT}")
            if any(len(str(f.get("text", ""))) > FIELD_TEXT_LIMIT for f in fields):
                problems.append(f"blocks[{n}].fields: at most {FIELD_TEXT_LIMIT} characters each")
    if problems:
        return {
            "ok": False,
            "error": "invalid_blocks",
            "response_metadata": {"messages": [f"[ERROR] {p}" for p in problems]},
        }
    return None


def _blocks(value: Any) -> list[dict[str, Any]]:
    if not value:
        return []
    if isinstance(value, str):
        value = json.loads(value)
    return list(value)
