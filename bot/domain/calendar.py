"""Chinese working days: chinesecalendar wrapped with local overrides and a Mon–Fri fallback."""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)

# chinesecalendar names holidays in English ("National Day"); the Holiday enum knows the Chinese.
_HOLIDAY_NAMES = {h.value: h.chinese for h in chinese_calendar.Holiday}

# Shipped with the code: extra holidays / make-up workdays a county or we add before a new
# chinesecalendar release covers the year. An empty `extra_days_file` setting means this file.
DEFAULT_EXTRA_DAYS = Path(__file__).with_name("calendar_days.toml")


@dataclass(frozen=True)
class Deadline:
    """A due moment plus whether any day on the way was guessed for lack of holiday data."""

    at: datetime
    calendar_gap: bool


@dataclass(frozen=True)
class ScheduledDay:
    """One day of a year's official schedule: a day off on a weekday or in a holiday block, or a
    make-up working day on a weekend; `source` says who said so ("chinesecalendar" or "file")."""

    day: date
    off: bool
    name: str
    source: str


@dataclass
class WorkCalendar:
    """Answers is_workday / add_workdays; never raises for years the library lacks.

    `extra_holidays` and `extra_workdays` (from a data file) win over the library, so a county
    can add next year's holidays before a new chinesecalendar release ships them.
    """

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    # Years whose whole schedule the data file gives (beyond the library); when the file has no
    # `years` key, any year with a listed date counts as given.
    extra_years: frozenset[int] = frozenset()
    _warned_years: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        if not self.extra_years:
            self.extra_years = frozenset(d.year for d in self.extra_holidays | self.extra_workdays)

    @classmethod
    def from_file(cls, path: str | Path | None, tz: str = "Asia/Shanghai") -> WorkCalendar:
        """Read `holidays`, `workdays` (ISO dates) and optional `years` from a TOML file.

        No path means the shipped data file; a path that does not exist is an error (a typo in
        the config must not silently drop a county's holidays). Raises ValueError on bad dates.
        """
        chosen = Path(path) if path else DEFAULT_EXTRA_DAYS
        holidays: set[date] = set()
        workdays: set[date] = set()
        years: set[int] = set()
        if chosen.exists() or path:
            data = tomllib.loads(chosen.read_text(encoding="utf-8"))
            holidays = {date.fromisoformat(str(d)) for d in data.get("holidays", [])}
            workdays = {date.fromisoformat(str(d)) for d in data.get("workdays", [])}
            years = {int(y) for y in data.get("years", [])}
            if holidays & workdays:
                raise ValueError(f"{chosen}: dates listed both as holiday and workday: {sorted(holidays & workdays)}")
        return cls(ZoneInfo(tz), frozenset(holidays), frozenset(workdays), frozenset(years))

    def covers(self, day: date) -> bool:
        """True when the library or the data file knows this year's holidays."""
        if day.year in self.extra_years:
            return True
        try:
            chinese_calendar.is_workday(day)
        except NotImplementedError:
            return False
        return True

    def missing_years(self, today: date, horizon_days: int = 60) -> list[int]:
        """Years without holiday data that operations must hear about on `today`.

        Every year from today to `horizon_days` ahead, and from 1 November next year as well:
        the State Council notice usually appears in November, so its absence is an alarm then.
        """
        years = {today.year, (today + timedelta(days=horizon_days)).year}
        if today.month >= 11:
            years.add(today.year + 1)
        return sorted(y for y in years if not self.covers(date(y, 1, 1)))

    def covered_days(self, today: date, limit: int = 730) -> int:
        """Days from `today` on whose holidays are known (at most `limit`): the coverage gauge."""
        day = today
        while (day - today).days < limit and self.covers(day):
            day = date(day.year + 1, 1, 1)
        return min((day - today).days, limit)

    def schedule(self, year: int) -> list[ScheduledDay]:
        """The year's holidays and make-up workdays with their source, for `qihu calendar show`.

        Library days come first and the data file's win, as in is_workday; plain weekends are left out.
        """
        out: dict[date, ScheduledDay] = {}
        day = date(year, 1, 1)
        while day.year == year:
            try:
                _, name = chinese_calendar.get_holiday_detail(day)
                work = chinese_calendar.is_workday(day)
            except NotImplementedError:
                break
            label = _HOLIDAY_NAMES.get(name, name or "")
            if (not work and (day.weekday() < 5 or label)) or (work and day.weekday() >= 5):
                out[day] = ScheduledDay(day, not work, label, "chinesecalendar")
            day += timedelta(days=1)
        for d in self.extra_holidays:
            if d.year == year:
                out[d] = ScheduledDay(d, True, "", "file")
        for d in self.extra_workdays:
            if d.year == year:
                out[d] = ScheduledDay(d, False, "", "file")
        return sorted(out.values(), key=lambda s: s.day)

    def is_workday(self, day: date) -> bool:
        return self._is_workday(day)[0]

    def _is_workday(self, day: date) -> tuple[bool, bool]:
        """(is it a workday, was it guessed)."""
        if day in self.extra_workdays:
            return True, False
        if day in self.extra_holidays:
            return False, False
        try:
            return chinese_calendar.is_workday(day), False
        except NotImplementedError:
            if day.year in self.extra_years:
                return day.weekday() < 5, False
            if day.year not in self._warned_years:
                self._warned_years.add(day.year)
                log.warning("no holiday data for %s: counting Monday-Friday as working days; deadlines are "
                            "marked 节假日数据缺失 until chinesecalendar or the extra-days file covers it", day.year)
            return day.weekday() < 5, True

    def add_workdays(self, start: datetime, days: int) -> Deadline:
        """End of the n-th working day after `start`'s local date (17:30 is not assumed: 23:59:59).

        A deadline of 0 days is the end of the current day if it is a workday, else of the next one.
        """
        local_day = start.astimezone(self.tz).date()
        gap = False
        day = local_day
        if days <= 0:
            ok, guessed = self._is_workday(day)
            gap |= guessed
            while not ok:
                day += timedelta(days=1)
                ok, guessed = self._is_workday(day)
                gap |= guessed
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            ok, guessed = self._is_workday(day)
            gap |= guessed
            if ok:
                counted += 1
        end = datetime.combine(day, time(23, 59, 59), tzinfo=self.tz)
        return Deadline(end, gap)

    def extend(self, due: Deadline | datetime, days: int) -> Deadline:
        """A deadline moved `days` working days further (an approved extension)."""
        at, gap = (due.at, due.calendar_gap) if isinstance(due, Deadline) else (due, False)
        moved = self.add_workdays(at, days)
        return Deadline(moved.at, moved.calendar_gap or gap)

    def workdays_between(self, start: datetime, end: datetime) -> int:
        """Working days strictly after start's local date up to and including end's."""
        a = start.astimezone(self.tz).date()
        b = end.astimezone(self.tz).date()
        n = 0
        while a < b:
            a += timedelta(days=1)
            if self.is_workday(a):
                n += 1
        return n
