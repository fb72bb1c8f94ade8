"""Release windows: Tuesday and Thursday from 10:00 AEST, two hours long by default."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from release.windows import (
    ReleaseWindow,
    WindowPolicy,
    next_window,
    parse_days,
    window_at,
    windows_between,
)

BRISBANE = ZoneInfo("Australia/Brisbane")
SYDNEY = ZoneInfo("Australia/Sydney")
POLICY = WindowPolicy()
SYDNEY_POLICY = WindowPolicy(zone=SYDNEY)


def brisbane(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=BRISBANE)


def sydney(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=SYDNEY)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


# Tuesday 2026-11-24 in Brisbane.


def test_promotion_at_0959_59_is_outside_the_window() -> None:
    assert window_at(POLICY, brisbane(2026, 11, 24, 9, 59, 59)) is None


def test_promotion_at_1000_00_is_inside_the_window() -> None:
    window = window_at(POLICY, brisbane(2026, 11, 24, 10, 0, 0))
    assert window == ReleaseWindow(brisbane(2026, 11, 24, 10), brisbane(2026, 11, 24, 12))


def test_promotion_at_1159_59_is_inside_the_window() -> None:
    assert window_at(POLICY, brisbane(2026, 11, 24, 11, 59, 59)) is not None


def test_promotion_at_1200_00_is_outside_the_window() -> None:
    assert window_at(POLICY, brisbane(2026, 11, 24, 12, 0, 0)) is None


def test_a_window_contains_its_opening_but_not_its_closing() -> None:
    window = ReleaseWindow(brisbane(2026, 11, 24, 10), brisbane(2026, 11, 24, 12))
    assert window.contains(window.opens)
    assert not window.contains(window.closes)
    assert window.contains(utc(2026, 11, 24, 1, 30))


def test_there_is_no_window_on_a_wednesday() -> None:
    assert window_at(POLICY, brisbane(2026, 11, 25, 10, 30)) is None


def test_the_thursday_window_is_open_at_1030() -> None:
    window = window_at(POLICY, brisbane(2026, 11, 26, 10, 30))
    assert window is not None
    assert window.opens == brisbane(2026, 11, 26, 10)


def test_the_next_window_after_tuesday_noon_is_thursday_at_ten() -> None:
    window = next_window(POLICY, brisbane(2026, 11, 24, 12))
    assert window.opens == brisbane(2026, 11, 26, 10)
    assert window.closes == brisbane(2026, 11, 26, 12)


def test_the_next_window_after_thursday_noon_is_next_tuesday_at_ten() -> None:
    assert next_window(POLICY, brisbane(2026, 11, 26, 12)).opens == brisbane(2026, 12, 1, 10)


def test_the_next_window_on_a_wednesday_is_thursday() -> None:
    assert next_window(POLICY, brisbane(2026, 11, 25, 15)).opens == brisbane(2026, 11, 26, 10)


def test_the_next_window_opens_strictly_after_the_instant() -> None:
    assert next_window(POLICY, brisbane(2026, 11, 24, 10)).opens == brisbane(2026, 11, 26, 10)
    assert next_window(POLICY, brisbane(2026, 11, 24, 9, 59)).opens == brisbane(2026, 11, 24, 10)


def test_the_next_window_of_a_one_day_week_is_a_week_later() -> None:
    tuesdays = WindowPolicy(days=frozenset({1}))
    assert next_window(tuesdays, brisbane(2026, 11, 24, 11)).opens == brisbane(2026, 12, 1, 10)


def test_a_brisbane_window_opens_at_midnight_utc() -> None:
    window = next_window(POLICY, brisbane(2026, 11, 23, 12))
    assert window.opens.astimezone(UTC) == utc(2026, 11, 24, 0)
    assert window.closes.astimezone(UTC) == utc(2026, 11, 24, 2)


def test_a_brisbane_window_opens_at_midnight_utc_in_the_southern_winter_too() -> None:
    window = next_window(POLICY, brisbane(2026, 6, 29, 12))
    assert window.opens.astimezone(UTC) == utc(2026, 6, 30, 0)
    assert POLICY.zone_label(window.opens) == "AEST"


def test_window_opens_in_the_policy_zone() -> None:
    window = next_window(POLICY, utc(2026, 11, 23, 0))
    assert window.opens.tzinfo == BRISBANE
    assert window.opens.hour == 10


# Sydney keeps AEST in winter and moves to AEDT on Sunday 2026-10-04 (back on 2027-04-04).


def test_a_sydney_window_before_daylight_saving_is_midnight_utc() -> None:
    window = window_at(SYDNEY_POLICY, sydney(2026, 9, 29, 10, 30))
    assert window is not None
    assert window.opens.astimezone(UTC) == utc(2026, 9, 29, 0)
    assert SYDNEY_POLICY.zone_label(window.opens) == "AEST"


def test_a_sydney_window_in_daylight_saving_opens_at_2300_utc_on_monday() -> None:
    window = window_at(SYDNEY_POLICY, sydney(2026, 10, 6, 10, 30))
    assert window is not None
    assert window.opens == sydney(2026, 10, 6, 10)
    assert window.opens.astimezone(UTC) == utc(2026, 10, 5, 23)
    assert SYDNEY_POLICY.zone_label(window.opens) == "AEDT"


def test_a_sydney_window_is_found_from_a_utc_instant_on_the_monday() -> None:
    window = window_at(SYDNEY_POLICY, utc(2026, 10, 5, 23, 30))
    assert window is not None
    assert window.opens == sydney(2026, 10, 6, 10)


def test_the_brisbane_window_does_not_move_when_sydney_changes() -> None:
    window = window_at(POLICY, brisbane(2026, 10, 6, 10, 30))
    assert window is not None
    assert window.opens.astimezone(UTC) == utc(2026, 10, 6, 0)
    assert POLICY.zone_label(window.opens) == "AEST"


def test_sydney_windows_return_to_midnight_utc_after_april_2027() -> None:
    before = window_at(SYDNEY_POLICY, sydney(2027, 3, 30, 10, 30))
    after = window_at(SYDNEY_POLICY, sydney(2027, 4, 6, 10, 30))
    assert before is not None and after is not None
    assert before.opens.astimezone(UTC) == utc(2027, 3, 29, 23)
    assert after.opens.astimezone(UTC) == utc(2027, 4, 6, 0)
    assert SYDNEY_POLICY.zone_label(before.opens) == "AEDT"
    assert SYDNEY_POLICY.zone_label(after.opens) == "AEST"


def test_zone_label_reads_the_instant_in_the_policy_zone() -> None:
    assert SYDNEY_POLICY.zone_label(utc(2027, 1, 1)) == "AEDT"
    assert SYDNEY_POLICY.zone_label(utc(2027, 7, 1)) == "AEST"
    assert POLICY.zone_label(utc(2027, 1, 1)) == "AEST"


def test_the_sydney_next_window_across_the_change_is_an_hour_earlier_in_utc() -> None:
    # From Thursday 2026-10-01 noon (AEST) the next window is Tuesday 2026-10-06 (AEDT).
    window = next_window(SYDNEY_POLICY, sydney(2026, 10, 1, 12))
    assert window.opens == sydney(2026, 10, 6, 10)
    assert window.opens.astimezone(UTC) == utc(2026, 10, 5, 23)


def test_a_window_across_a_dst_change_lasts_its_length_in_real_time() -> None:
    # Sunday 2026-10-04 01:00 AEST; clocks jump from 02:00 to 03:00 AEDT.
    sundays = WindowPolicy(zone=SYDNEY, days=frozenset({6}), start=time(1, 0))
    window = next_window(sundays, sydney(2026, 10, 3, 12))
    assert window.closes.astimezone(UTC) - window.opens.astimezone(UTC) == timedelta(hours=2)
    assert window.closes.hour == 4  # 03:00 AEDT would be only one hour later
    assert window_at(sundays, utc(2026, 10, 3, 16, 59)) == window
    assert window_at(sundays, utc(2026, 10, 3, 17, 0)) is None


def test_a_window_starting_late_is_still_open_after_local_midnight() -> None:
    late = WindowPolicy(start=time(23, 0))
    window = window_at(late, brisbane(2026, 11, 25, 0, 30))  # Wednesday, after Tuesday 23:00
    assert window is not None
    assert window.opens == brisbane(2026, 11, 24, 23)
    assert window_at(late, brisbane(2026, 11, 25, 1, 0)) is None


def test_a_window_longer_than_a_day_is_found_days_after_it_opened() -> None:
    long = WindowPolicy(days=frozenset({1}), length=timedelta(days=3))
    window = window_at(long, brisbane(2026, 11, 27, 9, 59))  # Friday
    assert window is not None
    assert window.opens == brisbane(2026, 11, 24, 10)
    assert window_at(long, brisbane(2026, 11, 27, 10)) is None


def test_overlapping_windows_report_the_one_opened_last() -> None:
    long = WindowPolicy(length=timedelta(days=3))
    window = window_at(long, brisbane(2026, 11, 26, 11))  # Tuesday's and Thursday's
    assert window is not None
    assert window.opens == brisbane(2026, 11, 26, 10)


def test_windows_between_lists_openings_in_a_half_open_range() -> None:
    found = windows_between(POLICY, brisbane(2026, 11, 24, 10), brisbane(2026, 12, 1, 10))
    assert [w.opens for w in found] == [brisbane(2026, 11, 24, 10), brisbane(2026, 11, 26, 10)]


def test_windows_between_an_empty_range_is_empty() -> None:
    instant = brisbane(2026, 11, 24, 10)
    assert windows_between(POLICY, instant, instant) == []
    assert windows_between(POLICY, instant, instant - timedelta(days=3)) == []


def test_windows_between_a_month_has_two_a_week() -> None:
    found = windows_between(POLICY, brisbane(2026, 11, 30), brisbane(2026, 12, 28))
    assert len(found) == 8
    assert all(w.opens.weekday() in {1, 3} for w in found)
    assert found == sorted(found, key=lambda w: w.opens)


def test_windows_between_accepts_utc_bounds() -> None:
    found = windows_between(POLICY, utc(2026, 11, 24, 0), utc(2026, 11, 24, 0, 0, 1))
    assert [w.opens for w in found] == [brisbane(2026, 11, 24, 10)]


@pytest.mark.parametrize(
    "text",
    ["tue,thu", "Tue, Thu", "tuesday,thursday", "TUESDAY , Thurs", "thu tue", "tue,thu,tue"],
)
def test_parse_days_reads_tuesday_and_thursday(text: str) -> None:
    assert parse_days(text) == frozenset({1, 3})


def test_parse_days_reads_every_day_of_the_week() -> None:
    assert parse_days("mon,tue,wed,thu,fri,sat,sun") == frozenset(range(7))


@pytest.mark.parametrize("text", ["", "   ", ",", " , "])
def test_parse_days_refuses_an_empty_list(text: str) -> None:
    with pytest.raises(ValueError, match="at least one day"):
        parse_days(text)


def test_parse_days_names_the_unknown_day() -> None:
    with pytest.raises(ValueError, match="'tuseday'"):
        parse_days("tuseday,thu")


def test_a_policy_without_days_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one day"):
        WindowPolicy(days=frozenset())


@pytest.mark.parametrize("length", [timedelta(0), timedelta(hours=-1), timedelta(days=7)])
def test_a_policy_with_an_impossible_length_is_refused(length: timedelta) -> None:
    with pytest.raises(ValueError, match="less than a week"):
        WindowPolicy(length=length)


def test_a_policy_with_a_weekday_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="0 \\(Monday\\) to 6"):
        WindowPolicy(days=frozenset({7}))
