"""Renders Block Kit and Slack mrkdwn readably in a terminal."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_BARE = re.compile(r"<(https?://[^>]+)>")
_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]+)>")
_EMOJI = {
    ":white_check_mark:": "✅",
    ":x:": "❌",
    ":hourglass_flowing_sand:": "⏳",
    ":rocket:": "🚀",
    ":tada:": "🎉",
    ":rotating_light:": "🚨",
    ":warning:": "⚠️",
    ":no_entry_sign:": "🚫",
    ":arrows_counterclockwise:": "🔄",
    ":lock:": "🔒",
    ":ballot_box_with_check:": "☑",
    ":white_large_square:": "☐",
    ":calendar:": "📅",
    ":snowflake:": "❄️",
    ":ambulance:": "🚑",
    ":unlock:": "🔓",
    ":alarm_clock:": "⏰",
    ":bar_chart:": "📊",
    ":wrench:": "🔧",
    ":sunny:": "☀️",
    ":heavy_minus_sign:": "➖",
    ":triangular_flag_on_post:": "🚩",
    ":rewind:": "⏪",
    ":mega:": "📣",
}


@dataclass
class Control:
    """Something the console user can press: a button or a checkbox group."""

    number: int
    kind: str  # "button" or "checkboxes"
    action_id: str
    label: str
    element: dict[str, Any]


def mrkdwn(text: str, name_of: Callable[[str], str]) -> str:
    text = _USER.sub(lambda m: "@" + name_of(m.group(1)), text)
    text = _CHANNEL.sub(lambda m: "#" + name_of(m.group(1)), text)
    text = _DATE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _BARE.sub(lambda m: m.group(1), text)
    for code, glyph in _EMOJI.items():
        text = text.replace(code, glyph)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text(obj: dict[str, Any] | None, name_of: Callable[[str], str]) -> str:
    if not obj:
        return ""
    return mrkdwn(str(obj.get("text", "")), name_of)


def render_blocks(
    blocks: list[dict[str, Any]],
    name_of: Callable[[str], str],
    controls: list[Control],
    width: int = 78,
) -> list[str]:
    """Lines for `blocks`; every button or checkbox group is numbered into `controls`."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = _text(block.get("text"), name_of)
            lines += [title.upper(), "─" * min(width, len(title))]
        elif kind == "section":
            if block.get("text"):
                lines += _wrap(_text(block["text"], name_of), width)
            fields = [_text(f, name_of).split("\n") for f in block.get("fields") or []]
            for left, right in zip(fields[::2], fields[1::2] + [[]], strict=False):
                for i in range(max(len(left), len(right))):
                    a = left[i] if i < len(left) else ""
                    b = right[i] if i < len(right) else ""
                    lines.append(f"  {a:<36}  {b}".rstrip())
        elif kind == "context":
            parts = [_text(e, name_of) for e in block.get("elements") or [] if "text" in e]
            lines += ["  " + line for line in _wrap(" · ".join(parts), width - 2)]
        elif kind == "divider":
            lines.append("─" * width)
        elif kind == "actions":
            row = []
            for element in block.get("elements") or []:
                number = len(controls) + 1
                if element.get("type") == "button":
                    label = _text(element.get("text"), name_of)
                    controls.append(Control(number, "button", element["action_id"], label, element))
                    row.append(f"[{number}: {label}]")
                elif element.get("type") == "checkboxes":
                    controls.append(
                        Control(number, "checkboxes", element["action_id"], "checklist", element)
                    )
                    chosen = {o["value"] for o in element.get("initial_options") or []}
                    lines.append(f"  checklist [{number}] (tick {number} <item numbers>):")
                    for option in element.get("options") or []:
                        mark = "x" if option["value"] in chosen else " "
                        item = _text(option.get("text"), name_of)
                        lines.append(f"    [{mark}] {int(option['value']) + 1}. {item}")
            if row:
                lines.append("  " + "  ".join(row))
    return lines


def _wrap(text: str, width: int) -> list[str]:
    out: list[str] = []
    for paragraph in text.split("\n"):
        out += textwrap.wrap(paragraph, width) or [""]
    return out
