"""A local stand-in for Slack's Web API that records what the bot says.

It answers the methods the bot calls with Slack's shapes, checks arguments the way Slack
does (token, required and unknown arguments, expired trigger IDs, unknown messages),
and keeps every message, ephemeral and modal so a console or a test can read them.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

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
    "views.open": ({"view"}, {"trigger_id", "interactivity_pointer", "view"}),
    "views.update": ({"view"}, {"external_id", "hash", "view", "view_id"}),
}

TRIGGER_LIFETIME = 3.0  # seconds Slack honours a trigger_id for


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
class OpenedView:
    id: str
    user: str
    view: dict[str, Any]


@dataclass
class _ResponseUrl:
    channel: str
    user: str
    uses: int = 0


class FakeSlack:
    def __init__(
        self,
        bot_token: str = "xoxb-console",  # noqa: S107 (the fake's own stand-in token)
        team_id: str = "T0CONSOLE",
        bot_user_id: str = "UBOT",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot_token = bot_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self._clock = clock
        self._lock = threading.Condition()
        self._ts = itertools.count(1)
        self.messages: dict[tuple[str, str], Message] = {}
        self.ephemerals: list[Ephemeral] = []
        self.views: list[OpenedView] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.events = 0  # bumps on everything the bot says; a console waits for quiet
        self._triggers: dict[str, tuple[str, float]] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._failures: dict[str, list[tuple[int, dict[str, Any], dict[str, str]]]] = {}
        self._server: ThreadingHTTPServer | None = None
        self.app_token = "xapp-console"  # noqa: S105 (the fake's own stand-in token)
        self.socket_mode_url = ""  # where apps.connections.open sends a Socket Mode client

    # -- life cycle -----------------------------------------------------------------

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                status, payload, headers = fake._handle(
                    self.path,
                    self.headers.get("Content-Type", ""),
                    self.headers.get("Authorization", ""),
                    raw,
                )
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.api_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

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

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        error: str = "ratelimited",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Make the next call of `method` fail as Slack would (429 with Retry-After by default)."""
        with self._lock:
            self._failures.setdefault(method, []).append(
                (status, {"ok": False, "error": error}, headers or {"Retry-After": "1"})
            )

    def channel_messages(self, channel: str) -> list[Message]:
        with self._lock:
            return [m for (c, _), m in self.messages.items() if c == channel]

    def ephemerals_for(self, user: str) -> list[Ephemeral]:
        with self._lock:
            return [e for e in self.ephemerals if e.user == user]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
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

    def wait_quiet(self, quiet: float = 0.3, timeout: float = 15.0) -> None:
        """Wait until the bot has said nothing for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        last, since = self.events, time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.02)
            if self.events != last:
                last, since = self.events, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return

    # -- the HTTP side ----------------------------------------------------------------

    def _handle(
        self, path: str, content_type: str, authorization: str, raw: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if path.startswith("/response/"):
            return self._respond(path.removeprefix("/response/"), raw)
        method = path.removeprefix("/api/")
        args = _parse_args(content_type, raw)
        token = authorization.removeprefix("Bearer ").strip() or str(args.pop("token", ""))
        args.pop("token", None)
        with self._lock:
            self.calls.append((method, args))
            failures = self._failures.get(method)
            if failures:
                return failures.pop(0)
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
        if "text" in args:
            message.text = str(args["text"])
        if "blocks" in args:
            message.blocks = _blocks(args["blocks"])
        message.edits += 1
        return {"ok": True, "channel": message.channel, "ts": message.ts, "text": message.text}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        self.ephemerals.append(
            Ephemeral(
                args["channel"],
                args["user"],
                str(args.get("text") or ""),
                _blocks(args.get("blocks")),
            )
        )
        return {"ok": True, "message_ts": f"{int(time.time())}.{next(self._ts):06d}"}

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


def _blocks(value: Any) -> list[dict[str, Any]]:
    if not value:
        return []
    if isinstance(value, str):
        value = json.loads(value)
    return list(value)
