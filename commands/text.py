"""What people type, made safe to show: escaped for Slack, and of a bounded length."""

from __future__ import annotations

import re

#: The longest reason, summary or other free text a command accepts.
MAX_TEXT = 1000


def escape(text: str) -> str:
    """Text a person typed, as Slack must be sent it to show it literally.

    Slack's formatting rules: `&`, `<` and `>` are control characters. Escaped, a typed
    `<!channel>` pings nobody and `<https://evil|https://ci>` shows its real target as text.
    Only mentions and links the bot builds itself stay live.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_MARKUP = re.compile(r"<([^<>]*)>")


def plain(typed: str) -> str:
    """Slash-command text as the person typed it: Slack's markup and escapes undone.

    Slack sends `@channel` as `<!channel>`, a user as `<@U1|bob>`, a link as `<url|label>`
    and `&`, `<`, `>` escaped. Kept plain (a link shows its real target), it is escaped
    again, once, wherever it is shown, and nothing in it is live.
    """

    def one(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("!"):  # <!channel>, <!here>, <!subteam^S1|@team>, <!date^…|x>
            return label or "@" + target[1:].split("^")[0]
        if target.startswith(("@", "#")):
            return target[0] + (label.lstrip("@#") or target[1:])
        return target if not label or label == target else f"{label} ({target})"

    return _MARKUP.sub(one, typed).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def too_long(text: str, what: str = "The reason") -> str | None:
    """The refusal for free text over MAX_TEXT characters, or None when it fits."""
    if len(text) <= MAX_TEXT:
        return None
    return f"{what} is {len(text):,} characters; keep it to {MAX_TEXT:,}. Nothing was changed."
