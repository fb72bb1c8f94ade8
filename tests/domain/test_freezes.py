"""Freeze periods: 14 days' notice, shorter only from a Reliability Partner."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from release.freezes import (
    NOTICE,
    AcceptedFreeze,
    Freeze,
    FreezeRequest,
    check_freeze,
    describe_notice,
    freeze_at,
    freeze_days,
    freeze_span,
)
from release.refusal import Refusal

ZONE = ZoneInfo("Australia/Brisbane")
SYDNEY = ZoneInfo("Australia/Sydney")


def brisbane(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=ZONE)


def request(
    first: date = date(2026, 12, 20),
    last: date = date(2026, 12, 27),
    reason: str = "client showcase",
    *,
    by_reliability: bool = False,
) -> FreezeRequest:
    return FreezeRequest(first, last, reason, by_reliability)


def freeze(id: int, first: date, last: date) -> Freeze:
    starts, ends = freeze_span(ZONE, first, last)
    return Freeze(
        id=id,
        starts=starts,
        ends=ends,
        reason="client event",
        short_notice=False,
        created_by="U0RM",
        created_at=brisbane(2026, 11, 1),
    )


def refused(result: AcceptedFreeze | Refusal) -> str:
    assert isinstance(result, Refusal), result
    return result.reason


# Exactly 14 days before 2026-12-20 00:00 in Brisbane.
FOURTEEN_DAYS_BEFORE = brisbane(2026, 12, 6)


def test_freeze_span_runs_from_local_midnight_to_midnight_after_the_last_day() -> None:
    starts, ends = freeze_span(ZONE, date(2026, 12, 20), date(2026, 12, 27))
    assert starts == brisbane(2026, 12, 20)
    assert ends == brisbane(2026, 12, 28)
    assert starts.astimezone(UTC) == datetime(2026, 12, 19, 14, tzinfo=UTC)


def test_a_one_day_freeze_lasts_the_whole_local_day() -> None:
    starts, ends = freeze_span(ZONE, date(2026, 12, 20), date(2026, 12, 20))
    assert ends - starts == timedelta(days=1)


def test_notice_of_exactly_14_days_is_accepted() -> None:
    result = check_freeze(request(), FOURTEEN_DAYS_BEFORE, ZONE, [])
    assert result == AcceptedFreeze(
        starts=brisbane(2026, 12, 20), ends=brisbane(2026, 12, 28), short_notice=False
    )


def test_notice_of_exactly_14_days_is_measured_in_real_time() -> None:
    now = FOURTEEN_DAYS_BEFORE.astimezone(UTC)
    result = check_freeze(request(), now, ZONE, [])
    assert isinstance(result, AcceptedFreeze)
    assert not result.short_notice
    assert result.starts.astimezone(UTC) - now == NOTICE


def test_notice_of_13_days_23_hours_is_refused_for_a_release_manager() -> None:
    reason = refused(check_freeze(request(), brisbane(2026, 12, 6, 1), ZONE, []))
    assert "13 days 23 hours" in reason
    assert "Reliability Partner" in reason
    assert "14 days" in reason
    # What to do next: ask a Reliability Partner, or start later.
    assert "2026-12-21" in reason


def test_notice_of_13_days_23_hours_is_accepted_as_short_notice_for_a_reliability_partner() -> None:
    result = check_freeze(request(by_reliability=True), brisbane(2026, 12, 6, 1), ZONE, [])
    assert result == AcceptedFreeze(
        starts=brisbane(2026, 12, 20), ends=brisbane(2026, 12, 28), short_notice=True
    )


def test_the_earliest_start_suggested_is_the_first_day_with_full_notice() -> None:
    # At exactly 00:00 the same local day two weeks on is enough.
    reason = refused(check_freeze(request(), brisbane(2026, 12, 7), ZONE, []))
    assert "start the freeze on 2026-12-21 or later" in reason


def test_a_freeze_starting_today_is_short_notice() -> None:
    now = brisbane(2026, 12, 20, 15)
    assert "Reliability Partner" in refused(check_freeze(request(), now, ZONE, []))
    result = check_freeze(request(by_reliability=True), now, ZONE, [])
    assert isinstance(result, AcceptedFreeze)
    assert result.short_notice
    assert result.starts == brisbane(2026, 12, 20)


def test_a_freeze_that_ends_before_it_starts_is_refused() -> None:
    reason = refused(
        check_freeze(
            request(date(2026, 12, 27), date(2026, 12, 20)), FOURTEEN_DAYS_BEFORE, ZONE, []
        )
    )
    assert "ends (2026-12-20) before it starts (2026-12-27)" in reason
    assert "first day, then the last day" in reason


@pytest.mark.parametrize("reason", ["", "   ", "\t\n"])
def test_a_freeze_without_a_reason_is_refused(reason: str) -> None:
    text = refused(check_freeze(request(reason=reason), FOURTEEN_DAYS_BEFORE, ZONE, []))
    assert "needs a reason" in text
    assert "/release freeze add 2026-12-20 2026-12-27" in text


def test_a_missing_reason_is_refused_even_for_a_reliability_partner() -> None:
    result = check_freeze(request(reason=" ", by_reliability=True), FOURTEEN_DAYS_BEFORE, ZONE, [])
    assert "needs a reason" in refused(result)


def test_the_reason_is_checked_before_the_dates() -> None:
    result = check_freeze(
        request(date(2026, 12, 27), date(2026, 12, 20), ""), FOURTEEN_DAYS_BEFORE, ZONE, []
    )
    assert "needs a reason" in refused(result)


def test_a_freeze_that_would_already_be_over_is_refused() -> None:
    now = brisbane(2026, 12, 28)  # the instant the freeze would have ended
    reason = refused(check_freeze(request(by_reliability=True), now, ZONE, []))
    assert "cannot start in the past: 2026-12-20 is before today (2026-12-28)" in reason
    assert "from today onwards" in reason


def test_even_a_reliability_partner_cannot_start_a_freeze_yesterday() -> None:
    now = brisbane(2026, 12, 21)  # the freeze would have started yesterday
    reason = refused(check_freeze(request(by_reliability=True), now, ZONE, []))
    assert "cannot start in the past" in reason


def test_a_freeze_starting_today_at_short_notice_is_accepted_from_a_reliability_partner() -> None:
    now = brisbane(2026, 12, 20)
    accepted = check_freeze(request(by_reliability=True), now, ZONE, [])
    assert not isinstance(accepted, Refusal) and accepted.short_notice


@pytest.mark.parametrize(
    "first, last", [("0001-01-01", "0001-01-02"), ("2027-01-01", "9999-12-31")]
)
def test_dates_out_of_any_sensible_range_are_refused_not_crashed(first: str, last: str) -> None:
    ask = FreezeRequest(date.fromisoformat(first), date.fromisoformat(last), "x", True)
    reason = refused(check_freeze(ask, brisbane(2026, 11, 1), ZONE, []))
    assert "nothing was scheduled" in reason


def test_a_freeze_overlapping_another_is_refused_naming_it() -> None:
    existing = [freeze(3, date(2026, 12, 24), date(2026, 12, 31))]
    reason = refused(check_freeze(request(), FOURTEEN_DAYS_BEFORE, ZONE, existing))
    assert "freeze #3 (2026-12-24 to 2026-12-31)" in reason
    assert "`/release freeze cancel 3`" in reason
    assert "other dates" in reason


def test_an_overlap_is_refused_before_the_notice_is_judged() -> None:
    existing = [freeze(3, date(2026, 12, 20), date(2026, 12, 27))]
    result = check_freeze(request(), brisbane(2026, 12, 10), ZONE, existing)
    assert "freeze #3 (2026-12-20 to 2026-12-27)" in refused(result)


def test_every_overlapping_freeze_is_named() -> None:
    existing = [
        freeze(5, date(2026, 12, 26), date(2026, 12, 30)),
        freeze(4, date(2026, 12, 15), date(2026, 12, 20)),
    ]
    reason = refused(check_freeze(request(), FOURTEEN_DAYS_BEFORE, ZONE, existing))
    assert "freeze #4 (2026-12-15 to 2026-12-20) and freeze #5 (2026-12-26 to 2026-12-30)" in (
        reason
    )


def test_adjacent_freezes_do_not_overlap() -> None:
    before = freeze(1, date(2026, 12, 13), date(2026, 12, 19))  # ends the day before
    after = freeze(2, date(2026, 12, 28), date(2027, 1, 3))  # starts the day after
    result = check_freeze(request(), FOURTEEN_DAYS_BEFORE, ZONE, [before, after])
    assert isinstance(result, AcceptedFreeze)
    assert not before.overlaps(result.starts, result.ends)
    assert not after.overlaps(result.starts, result.ends)


def test_overlap_is_half_open() -> None:
    existing = freeze(1, date(2026, 12, 20), date(2026, 12, 27))
    assert existing.overlaps(brisbane(2026, 12, 27, 23), brisbane(2026, 12, 29))
    assert not existing.overlaps(brisbane(2026, 12, 28), brisbane(2026, 12, 29))
    assert existing.overlaps(brisbane(2026, 12, 1), brisbane(2026, 12, 20, 0, 1))
    assert not existing.overlaps(brisbane(2026, 12, 1), brisbane(2026, 12, 20))


def test_a_freeze_covers_its_first_instant_but_not_its_end() -> None:
    existing = freeze(1, date(2026, 12, 20), date(2026, 12, 27))
    assert existing.covers(brisbane(2026, 12, 20))
    assert existing.covers(brisbane(2026, 12, 27, 23, 59))
    assert not existing.covers(brisbane(2026, 12, 28))
    assert not existing.covers(brisbane(2026, 12, 19, 23, 59))


def test_freeze_at_finds_the_freeze_covering_an_instant() -> None:
    first = freeze(1, date(2026, 12, 13), date(2026, 12, 19))
    second = freeze(2, date(2026, 12, 20), date(2026, 12, 27))
    freezes = [first, second]
    assert freeze_at(freezes, brisbane(2026, 12, 19, 23, 59)) == first
    assert freeze_at(freezes, brisbane(2026, 12, 20)) == second
    assert freeze_at(freezes, datetime(2026, 12, 22, 0, tzinfo=UTC)) == second
    assert freeze_at(freezes, brisbane(2026, 12, 28)) is None
    assert freeze_at([], brisbane(2026, 12, 20)) is None


def test_freeze_at_prefers_the_earliest_should_two_ever_overlap() -> None:
    early = freeze(9, date(2026, 12, 18), date(2026, 12, 22))
    late = freeze(2, date(2026, 12, 20), date(2026, 12, 27))
    assert freeze_at([late, early], brisbane(2026, 12, 21)) == early


def test_freeze_days_are_the_dates_the_user_typed() -> None:
    existing = freeze(1, date(2026, 12, 20), date(2026, 12, 27))
    assert freeze_days(existing, ZONE) == (date(2026, 12, 20), date(2026, 12, 27))


def test_a_sydney_freeze_counts_notice_in_real_time_across_daylight_saving() -> None:
    # Sydney moves to AEDT on 2026-10-04: 14 wall-clock days before 2026-10-10 00:00 AEDT
    # is only 13 days 23 hours of real time.
    now = datetime(2026, 9, 26, tzinfo=SYDNEY)
    result = check_freeze(request(date(2026, 10, 10), date(2026, 10, 11)), now, SYDNEY, [])
    assert "13 days 23 hours" in refused(result)


@pytest.mark.parametrize(
    ("notice", "words"),
    [
        (timedelta(days=13, hours=23, minutes=59), "13 days 23 hours"),
        (timedelta(days=1, hours=1), "1 day 1 hour"),
        (timedelta(hours=5), "5 hours"),
        (timedelta(days=2), "2 days"),
        (timedelta(minutes=20), "less than an hour"),
        (timedelta(0), "no notice (it has already started)"),
        (timedelta(hours=-3), "no notice (it has already started)"),
    ],
)
def test_describe_notice(notice: timedelta, words: str) -> None:
    assert describe_notice(notice) == words
