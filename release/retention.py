"""How long release artefacts and audit rows are kept, and when one becomes purgeable.

The policy: "Maintain release artefacts (test reports, approvals) … for 24 months."

So an artefact or an audit row is kept for 24 calendar months from the instant it was
recorded; after that it is purged (by the bot's hourly retention job), and before that
nobody may change or delete it (the database's own triggers enforce that, by its clock).
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

__all__ = ["RETENTION_MONTHS", "months_earlier", "retention_cutoff"]

#: How long the policy keeps release artefacts and the audit trail.
RETENTION_MONTHS = 24


def months_earlier(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier.

    A day the earlier month does not have is clamped to its last day: 24 months before
    29 February 2028 is 28 February 2026 (as PostgreSQL's `- interval '24 months'` does).
    """
    if months < 0:
        raise ValueError("months must not be negative")
    index = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def retention_cutoff(now: datetime) -> datetime:
    """Rows recorded before this instant (UTC) are past retention at `now`.

    Counted in UTC calendar months, as the database's triggers count them.
    """
    if now.tzinfo is None:
        raise ValueError("retention_cutoff needs a timezone-aware datetime")
    return months_earlier(now.astimezone(UTC), RETENTION_MONTHS)
