"""Sends the bot what Slack would: slash commands, clicks and modal submissions, signed."""

from __future__ import annotations

import json
import ssl
import time
from functools import cache
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from bot.console.fake_slack import FakeSlack, Message, OpenedView


@cache
def _tls() -> ssl.SSLContext:
    """One certificate store for every simulator: loading it costs 40 ms of CPU a time."""
    return ssl.create_default_context()


class SlackSimulator:
    def __init__(
        self, events_url: str, signing_secret: str, fake: FakeSlack, channel_id: str
    ) -> None:
        self.events_url = events_url
        self.signing_secret = signing_secret
        self.fake = fake
        self.channel_id = channel_id
        self.http = httpx.Client(timeout=10, verify=_tls())

    def close(self) -> None:
        self.http.close()

    def signed_post(
        self,
        body: str,
        content_type: str = "application/x-www-form-urlencoded",
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        signature: str | None = None,
    ) -> httpx.Response:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sig = signature or SignatureVerifier(secret or self.signing_secret).generate_signature(
            timestamp=ts, body=body
        )
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sig or "",
        }
        return self.http.post(self.events_url, content=body.encode(), headers=headers)

    def command(
        self, user_id: str, text: str, *, channel_id: str | None = None, user_name: str = ""
    ) -> httpx.Response:
        """Send `/release <text>` as `user_id`; what the bot put in the acknowledgement is
        shown to them in the fake Slack, as Slack shows it."""
        response = self.signed_post(
            self.command_body(user_id, text, channel_id=channel_id, user_name=user_name)
        )
        if response.status_code == 200 and response.content:
            body = response.json()
            if body.get("text") or body.get("blocks"):
                self.fake.show_acknowledgement(channel_id or self.channel_id, user_id, body)
        return response

    def command_body(
        self, user_id: str, text: str, *, channel_id: str | None = None, user_name: str = ""
    ) -> str:
        """The form Slack posts for `/release <text>` (a response URL and trigger of its own)."""
        channel = channel_id or self.channel_id
        form = {
            "token": "deprecated-verification-token",
            "team_id": self.fake.team_id,
            "team_domain": "console",
            "channel_id": channel,
            "channel_name": "portal-release" if channel == self.channel_id else "elsewhere",
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": "/release",
            "text": text,
            "api_app_id": "ACONSOLE",
            "is_enterprise_install": "false",
            "response_url": self.fake.response_url(channel, user_id),
            "trigger_id": self.fake.issue_trigger(user_id),
        }
        return urlencode(form)

    def event(self, user_id: str, event_type: str, **fields: Any) -> httpx.Response:
        """An Events API callback, signed, as Slack sends `app_home_opened` and the like."""
        body = {
            "token": "deprecated-verification-token",
            "team_id": self.fake.team_id,
            "api_app_id": "ACONSOLE",
            "type": "event_callback",
            "event_id": f"Ev{time.time_ns()}",
            "event_time": int(time.time()),
            "event": {"type": event_type, "user": user_id, **fields},
        }
        return self.signed_post(json.dumps(body), "application/json")

    def _interactive(self, payload: dict[str, Any]) -> httpx.Response:
        return self.signed_post(urlencode({"payload": json.dumps(payload)}))

    def click(self, user_id: str, message: Message, action_id: str) -> httpx.Response:
        return self.signed_post(self.click_body(user_id, message, action_id))

    def click_body(self, user_id: str, message: Message, action_id: str) -> str:
        """The form Slack posts when `user_id` clicks `action_id` on `message`."""
        element, block_id = _find_element(message, action_id)
        action = {
            "type": element["type"],
            "action_id": action_id,
            "block_id": block_id,
            "text": element.get("text"),
            "value": element.get("value"),
            "action_ts": f"{time.time():.6f}",
        }
        payload = self._block_actions(user_id, message, action)
        return urlencode({"payload": json.dumps(payload)})

    def tick(
        self, user_id: str, message: Message, action_id: str, values: list[str]
    ) -> httpx.Response:
        element, block_id = _find_element(message, action_id)
        by_value = {o["value"]: o for o in element.get("options", [])}
        action = {
            "type": "checkboxes",
            "action_id": action_id,
            "block_id": block_id,
            "selected_options": [by_value[v] for v in values if v in by_value],
            "action_ts": f"{time.time():.6f}",
        }
        return self._interactive(self._block_actions(user_id, message, action))

    def _block_actions(
        self, user_id: str, message: Message, action: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower(), "team_id": self.fake.team_id},
            "api_app_id": "ACONSOLE",
            "token": "deprecated-verification-token",
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": False,
            },
            "trigger_id": self.fake.issue_trigger(user_id),
            "team": {"id": self.fake.team_id, "domain": "console"},
            "channel": {"id": message.channel, "name": "portal-release"},
            "message": {
                "type": "message",
                "ts": message.ts,
                "text": message.text,
                "blocks": message.blocks,
                "user": self.fake.bot_user_id,
            },
            "response_url": self.fake.response_url(message.channel, user_id),
            "actions": [action],
        }

    def submit(
        self, user_id: str, opened: OpenedView, values: dict[str, dict[str, Any]]
    ) -> httpx.Response:
        """Submit a modal; `values` is Slack's view.state.values shape."""
        payload = {
            "type": "view_submission",
            "team": {"id": self.fake.team_id, "domain": "console"},
            "user": {"id": user_id, "username": user_id.lower(), "team_id": self.fake.team_id},
            "api_app_id": "ACONSOLE",
            "token": "deprecated-verification-token",
            "trigger_id": self.fake.issue_trigger(user_id),
            "view": {**opened.view, "id": opened.id, "state": {"values": values}},
        }
        return self._interactive(payload)


def _find_element(message: Message, action_id: str) -> tuple[dict[str, Any], str]:
    for block in message.blocks:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return element, block.get("block_id", "")
    raise LookupError(f"no element {action_id} on that message")
