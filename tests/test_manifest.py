"""The Slack app manifest in the repo is valid against Slack's own schema (copied in tests/data)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

ROOT = Path(__file__).parent.parent


def test_manifest_is_valid_and_declares_what_the_bot_uses() -> None:
    schema = json.loads((ROOT / "tests/data/manifest.schema.1.0.0.json").read_text())
    manifest = json.loads((ROOT / "slack-manifest.json").read_text())
    jsonschema.Draft7Validator(schema).validate(manifest)

    command = manifest["features"]["slash_commands"][0]
    assert command["command"] == "/release"
    assert command["should_escape"] is True  # mentions arrive as <@U123|name>
    assert command["url"].endswith("/slack/events")
    assert manifest["settings"]["interactivity"]["request_url"].endswith("/slack/events")
    # files:write for the audit export and the digest's chart.
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "files:write",
    }
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    events = manifest["settings"]["event_subscriptions"]
    assert events["bot_events"] == ["app_home_opened"]
    assert events["request_url"].endswith("/slack/events")
