"""What people type, made safe to show: escaped for Slack, and of a bounded length."""

from __future__ import annotations

#: The longest reason, summary or other free text a command accepts.
MAX_TEXT = 1000


def escape(text: str) -> str:
    """Text a person typed, as Slack must be sent it to show it literally.

    Slack's formatting rules: `&`, `<` and `>` are control characters. Escaped, a typed
    `<!channel>` pings nobody and `<https://evil|https://ci>` shows its real target as text.
    Only mentions and links the bot builds itself stay live.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def too_long(text: str, what: str = "The reason") -> str | None:
    """The refusal for free text over MAX_TEXT characters, or None when it fits."""
    if len(text) <= MAX_TEXT:
        return None
    return f"{what} is {len(text):,} characters; keep it to {MAX_TEXT:,}. Nothing was changed."
