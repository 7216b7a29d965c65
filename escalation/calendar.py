"""Working days and hours in England and Wales: the clock that alert and escalation timescales run on.

Bank holidays follow the rules in the Banking and Financial Dealings Act 1971 as proclaimed each year
(substitute days when a holiday falls at a weekend), plus the one-off changes proclaimed since 2012.
An area's escalation policy can add days of its own (a local closure); it cannot remove a bank holiday.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

# One-off changes by proclamation: (moved from, moved to) and extra days.
_MOVED = {
    date(2012, 5, 28): date(2012, 6, 4),  # spring bank holiday moved for the Diamond Jubilee
    date(2020, 5, 4): date(2020, 5, 8),  # early May bank holiday moved for VE Day 75
    date(2022, 5, 30): date(2022, 6, 2),  # spring bank holiday moved for the Platinum Jubilee
}
_EXTRA = {
    date(2012, 6, 5),  # Diamond Jubilee
    date(2022, 6, 3),  # Platinum Jubilee
    date(2022, 9, 19),  # State funeral of Queen Elizabeth II
    date(2023, 5, 8),  # Coronation of King Charles III
}


def _easter(year: int) -> date:
    # Anonymous Gregorian algorithm (Meeus/Jones/Butcher).
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month = (h + m - 7 * n + 114) // 31
    day = (h + m - 7 * n + 114) % 31 + 1
    return date(year, month, day)


def _first_monday(year: int, month: int) -> date:
    day = date(year, month, 1)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def _last_monday(year: int, month: int) -> date:
    day = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return day - timedelta(days=day.weekday())


@lru_cache(maxsize=64)
def bank_holidays(year: int) -> frozenset[date]:
    """England and Wales bank holidays in `year`."""
    days = set()
    new_year = date(year, 1, 1)
    days.add(new_year + timedelta(days={5: 2, 6: 1}.get(new_year.weekday(), 0)))
    easter = _easter(year)
    days |= {easter - timedelta(days=2), easter + timedelta(days=1)}
    days |= {_first_monday(year, 5), _last_monday(year, 5), _last_monday(year, 8)}
    christmas, boxing = date(year, 12, 25), date(year, 12, 26)
    if christmas.weekday() == 5:  # Saturday: Monday and Tuesday
        days |= {date(year, 12, 27), date(year, 12, 28)}
    elif christmas.weekday() == 6:  # Sunday: Monday (Boxing Day) and Tuesday
        days |= {boxing, date(year, 12, 27)}
    elif christmas.weekday() == 4:  # Friday: Boxing Day falls on Saturday, its substitute Monday
        days |= {christmas, date(year, 12, 28)}
    else:
        days |= {christmas, boxing}
    days = {_MOVED.get(day, day) for day in days}
    days |= {day for day in _EXTRA if day.year == year}
    return frozenset(days)


class WorkingCalendar:
    """Working days (Monday to Friday, not a bank holiday or an area's own closure) and working hours."""

    def __init__(self, *, starts: time = time(9), ends: time = time(17), closures: frozenset[date] = frozenset()):
        self.starts, self.ends, self.closures = starts, ends, closures

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in bank_holidays(day.year) and day not in self.closures

    def in_working_hours(self, moment: datetime) -> bool:
        local = moment.astimezone(LONDON)
        return self.is_working_day(local.date()) and self.starts <= local.time() < self.ends

    def add_working_days(self, moment: datetime, days: int) -> datetime:
        """The same time of day `days` working days later; a moment outside working hours counts
        from the start of the next working day, so an alert at 23:00 on Friday with one working day
        falls due at close of Monday (or of Tuesday after a bank holiday Monday)."""
        local = moment.astimezone(LONDON)
        day = local.date()
        if not self.in_working_hours(moment):
            if self.is_working_day(day) and local.time() < self.starts:
                local = datetime.combine(day, self.starts, LONDON)
            else:
                day = self._next_working_day(day)
                local = datetime.combine(day, self.starts, LONDON)
            # Counted from the start of a working day, n working days end at close of the n-th.
            for _ in range(days - 1):
                day = self._next_working_day(day)
            return datetime.combine(day, self.ends, LONDON) if days else local
        for _ in range(days):
            day = self._next_working_day(day)
        return datetime.combine(day, local.time(), LONDON)

    def _next_working_day(self, day: date) -> date:
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def next_working_hours_start(self, moment: datetime) -> datetime:
        local = moment.astimezone(LONDON)
        day = local.date()
        if self.is_working_day(day) and local.time() < self.starts:
            return datetime.combine(day, self.starts, LONDON)
        return datetime.combine(self._next_working_day(day), self.starts, LONDON)
