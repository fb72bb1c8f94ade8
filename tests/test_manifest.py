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


#: The bot scopes each Web API method needs, copied from Slack's method reference.
#: files_upload_v2 calls files.getUploadURLExternal and files.completeUploadExternal.
METHOD_SCOPES: dict[str, set[str]] = {
    "chat_postMessage": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "chat_update": {"chat:write"},
    "views_open": set(),
    "views_publish": set(),
    "files_upload_v2": {"files:write"},
    "auth_test": set(),
    "apps_connections_open": set(),  # with the app-level token (connections:write)
}


def test_every_web_api_method_the_code_calls_is_covered_by_a_scope_in_the_manifest() -> None:
    import re

    manifest = json.loads((ROOT / "slack-manifest.json").read_text())
    granted = set(manifest["oauth_config"]["scopes"]["bot"])
    called: set[str] = set()
    for folder in ("bot", "commands"):
        for path in (ROOT / folder).rglob("*.py"):
            if "console" in path.parts:  # the fake Slack's own names
                continue
            called |= set(
                re.findall(
                    r"\.(chat_\w+|views_\w+|files_\w+|auth_test|apps_\w+|conversations_\w+"
                    r"|users_\w+|reactions_\w+|pins_\w+)\(",
                    path.read_text(),
                )
            )
    assert called, "the scan found no Web API calls"
    unknown = called - METHOD_SCOPES.keys()
    assert not unknown, f"add these methods and their scopes to METHOD_SCOPES: {unknown}"
    needed = set().union(*(METHOD_SCOPES[m] for m in called))
    assert needed <= granted, f"the manifest lacks {needed - granted}"
    assert granted - needed <= {"commands"}, f"scopes granted but unused: {granted - needed}"
