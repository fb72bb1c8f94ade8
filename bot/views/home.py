"""The App Home tab, built with slack_sdk's Block Kit models (they check Slack's limits)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from commands.home import HomeFacts
from commands.metrics import verdict_line
from commands.outcome import fit
from commands.text import escape
from commands.timefmt import in_zone

SECTION_LIMIT = 3000


def home_view(facts: HomeFacts, zone: ZoneInfo) -> dict[str, Any]:
    blocks: list[Block] = [HeaderBlock(text="Portal releases")]
    live = f"*In production*: {facts.live}" if facts.live else "*In production*: nothing yet"
    if facts.window_open is not None:
        window = f"A release window is open until {in_zone(facts.window_open.closes, zone)}."
    else:
        window = f"Next release window: {in_zone(facts.next_window.opens, zone)}."
    blocks.append(_section(f"{live}\n{window}"))
    blocks.append(DividerBlock())
    if facts.releases:
        lines = ["*Open releases*"]
        for r in facts.releases:
            kind = " (hotfix)" if r.hotfix else ""
            lines.append(f"• *{r.version}*{kind} `{r.state}`: waiting for {r.needs}")
        if facts.more_releases:
            lines.append(f"_…and {facts.more_releases} more: `/release status`._")
        blocks.append(_section("\n".join(lines)))
    else:
        blocks.append(_section("No release is open. Start one with `/release start vX.Y.Z`."))
    if facts.freezes:
        lines = ["*Freezes ahead*"]
        for freeze in facts.freezes:
            lines.append(
                f"• {in_zone(freeze.starts, zone)} to {in_zone(freeze.ends, zone)}: "
                f"{escape(freeze.reason)}"
            )
        if facts.more_freezes:
            lines.append(f"_…and {facts.more_freezes} more: `/release freeze list`._")
        blocks.append(_section("\n".join(lines)))
    if facts.overdue:
        lines = ["*Flags past their removal deadline*"]
        lines += [
            f"• `{f.key}`: remove by {in_zone(f.remove_by, zone)}"
            for f in facts.overdue
            if f.remove_by is not None
        ]
        if facts.more_overdue:
            lines.append(f"_…and {facts.more_overdue} more: `/release flag list`._")
        blocks.append(_section("\n".join(lines)))
    blocks.append(DividerBlock())
    lines = ["*Delivery, last 30 days*"]
    lines += [verdict_line(v) for v in facts.metrics]
    blocks.append(_section("\n".join(lines)))
    blocks.append(
        ContextBlock(elements=[MarkdownTextObject(text=f"Updated {in_zone(facts.now, zone)}")])
    )
    return View(type="home", blocks=blocks).to_dict()


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=fit(text, SECTION_LIMIT)))
