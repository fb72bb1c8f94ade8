"""Instants as people read them: in the release channel's zone, and in each reader's own."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def in_zone(instant: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    return f"{local:%a %d %b %Y %H:%M} {local.tzname()}"


def when(instant: datetime, zone: ZoneInfo) -> str:
    """The time in the channel's zone, and Slack's <!date> token that shows the reader's own."""
    fallback = in_zone(instant, zone)
    epoch = int(instant.timestamp())
    return f"{fallback} (<!date^{epoch}^{{date_short_pretty}} {{time}}|{fallback}> your time)"


def day(instant: datetime, zone: ZoneInfo) -> str:
    return f"{instant.astimezone(zone):%a %d %b %Y}"
