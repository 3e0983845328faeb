"""Working days: chinesecalendar through our wrapper, the data file, the Mon–Fri fallback and its mark."""

from __future__ import annotations

import logging
from datetime import date, datetime

import pytest

from bot.domain.calendar import ScheduledDay, WorkCalendar
from tests.conftest import SHANGHAI


def at(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=SHANGHAI)


def test_fifteen_working_days_across_national_day_2026():
    cal = WorkCalendar.from_file(None)
    due = cal.add_workdays(at(2026, 9, 18), 15)
    assert due.at.date() == date(2026, 10, 15) and not due.calendar_gap


def test_make_up_saturday_is_a_workday_and_holidays_are_not():
    cal = WorkCalendar.from_file(None)
    assert cal.is_workday(date(2026, 10, 10))  # Saturday, 调休
    assert cal.is_workday(date(2026, 9, 20))  # Sunday, 调休 for 中秋
    assert not cal.is_workday(date(2026, 10, 1)) and not cal.is_workday(date(2026, 10, 7))
    # From Fri 2026-10-09: the make-up Saturday 10-10 counts, so 2 working days end Mon 10-12.
    assert cal.add_workdays(at(2026, 10, 9), 2).at.date() == date(2026, 10, 12)


def test_year_end_into_an_uncovered_year_falls_back_with_mark_and_one_warning(caplog):
    cal = WorkCalendar()
    with caplog.at_level(logging.WARNING):
        due = cal.add_workdays(at(2026, 12, 21), 10)
        cal.add_workdays(at(2026, 12, 28), 5)
    assert due.calendar_gap
    # 12-22..12-31 give 8 working days (Mon–Fri), then Mon–Fri 2027-01-01 and 01-04.
    assert due.at.date() == date(2027, 1, 4)
    warnings = [r for r in caplog.records if "no holiday data for 2027" in r.getMessage()]
    assert len(warnings) == 1
    assert not cal.add_workdays(at(2026, 11, 2), 5).calendar_gap


def test_data_file_covers_a_year_and_its_dates_win(tmp_path):
    path = tmp_path / "days.toml"
    path.write_text('years = [2027]\nholidays = ["2027-01-01"]\nworkdays = ["2027-01-09"]\n', encoding="utf-8")
    cal = WorkCalendar.from_file(path)
    assert cal.covers(date(2027, 6, 1))
    assert not cal.is_workday(date(2027, 1, 1)) and cal.is_workday(date(2027, 1, 9))
    due = cal.add_workdays(at(2026, 12, 31), 1)
    assert due.at.date() == date(2027, 1, 4) and not due.calendar_gap


def test_data_file_errors_are_loud(tmp_path):
    with pytest.raises(FileNotFoundError):
        WorkCalendar.from_file(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('holidays = ["2027-01-01"]\nworkdays = ["2027-01-01"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="both"):
        WorkCalendar.from_file(bad)


def test_extension_moves_a_deadline_in_working_days():
    cal = WorkCalendar.from_file(None)
    due = cal.add_workdays(at(2026, 9, 28), 2)  # Tue 09-29 … Wed 09-30
    assert due.at.date() == date(2026, 9, 30)
    assert cal.extend(due, 1).at.date() == date(2026, 10, 8)


def test_missing_years_is_an_alarm_from_november_and_never_depends_on_the_real_date(tmp_path):
    """The calendar trap (domain.md §6) is an operational alarm, not a test that turns red in December."""
    cal = WorkCalendar()
    first_uncovered = next(y for y in range(2024, 2100) if not cal.covers(date(y, 1, 1)))
    last_covered = first_uncovered - 1
    # Mid-year of a covered year, 60 days ahead still covered: no alarm.
    assert cal.missing_years(date(last_covered, 6, 1)) == []
    # From 1 November the next year must be known.
    assert cal.missing_years(date(last_covered, 10, 31)) == []
    assert cal.missing_years(date(last_covered, 11, 1)) == [first_uncovered]
    assert cal.missing_years(date(last_covered, 12, 15)) == [first_uncovered]
    # Entering the notice's dates in the data file silences it.
    path = tmp_path / "days.toml"
    path.write_text(f'years = [{first_uncovered}]\nholidays = ["{first_uncovered}-01-01"]\n', encoding="utf-8")
    assert WorkCalendar.from_file(path).missing_years(date(last_covered, 12, 15)) == []


def test_schedule_lists_days_off_and_make_up_days_with_their_source(tmp_path):
    cal = WorkCalendar.from_file(None)
    days = {d.day: d for d in cal.schedule(2026)}
    assert days[date(2026, 10, 1)].off and days[date(2026, 10, 1)].name == "国庆节"
    assert days[date(2026, 10, 3)].off  # a Saturday inside the holiday block is listed
    assert not days[date(2026, 10, 10)].off and days[date(2026, 10, 10)].source == "chinesecalendar"  # 调休
    assert date(2026, 10, 17) not in days  # a plain weekend is not
    first_uncovered = next(y for y in range(2024, 2100) if not cal.covers(date(y, 1, 1)))
    assert cal.schedule(first_uncovered) == []
    path = tmp_path / "days.toml"
    path.write_text(f'years = [{first_uncovered}]\nholidays = ["{first_uncovered}-01-01"]\n'
                    f'workdays = ["2026-10-17"]\n', encoding="utf-8")
    local = WorkCalendar.from_file(path)
    assert [(d.day, d.off, d.source) for d in local.schedule(first_uncovered)] == [
        (date(first_uncovered, 1, 1), True, "file")]
    assert ScheduledDay(date(2026, 10, 17), False, "", "file") in local.schedule(2026)  # the file's own 调休


def test_covered_days_count_from_today_to_the_first_unknown_year():
    cal = WorkCalendar()
    first_uncovered = next(y for y in range(2024, 2100) if not cal.covers(date(y, 1, 1)))
    dec = date(first_uncovered - 1, 12, 15)
    assert cal.covered_days(dec) == 17
    assert cal.covered_days(date(first_uncovered, 3, 1)) == 0
    assert cal.covered_days(date(first_uncovered - 1, 1, 1), limit=100) == 100
