"""Working days (工作日): Monday to Friday but for the public holidays, plus the weekends
worked in their place (调休), as the State Council announces them each year.

承诺时限 are counted in working days: a matter promised in 5 working days and started on a
Wednesday before the National Day holiday ends on the fifth day worked after it. The package
`chinese_calendar` keeps the announced years; a province adds a year it does not know yet
with a file (`ONETHING_WORKING_CALENDAR`); beyond every known year, Monday to Friday count.
A plan carries the part of the calendar it may need, so a workflow computes its deadlines
from its own snapshot, however the calendar is edited later.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_serializer

CHINA = timezone(timedelta(hours=8), "China Standard Time")  # no daylight saving time
SNAPSHOT_DAYS = 400  # the part of the calendar a plan carries: a year of limits and more


class WorkingCalendar(BaseModel):
    """Which days are worked, as far as they are known (`known_until`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days_off: frozenset[date] = Field(
        default=frozenset(), description="Weekdays not worked: public holidays."
    )
    days_worked: frozenset[date] = Field(
        default=frozenset(), description="Saturdays and Sundays worked in a holiday's place."
    )
    known_until: date | None = Field(
        default=None, description="The last day announced; after it, Monday to Friday count."
    )

    @field_serializer("days_off", "days_worked")
    def _in_order(self, days: frozenset[date]) -> list[date]:
        return sorted(days)

    def is_working(self, day: date) -> bool:
        if day in self.days_worked:
            return True
        return day.weekday() < 5 and day not in self.days_off

    def working_day(self, after: date, n: int) -> date:
        """The `n`-th working day after the day `after` (that day itself not counted)."""
        if n < 1:
            raise ValueError("count at least one working day")
        day = after
        while n:
            day += timedelta(days=1)
            n -= self.is_working(day)
        return day

    def deadline(self, start: datetime, working_days: int) -> datetime:
        """The end, in China, of the `working_days`-th working day after `start`'s day."""
        last = self.working_day(start.astimezone(CHINA).date(), working_days)
        return datetime.combine(last + timedelta(days=1), time(), CHINA)

    def deadline_within(
        self, start: datetime, working_days: int, cap_seconds: float | None
    ) -> datetime:
        """`deadline`, or sooner if a cap (seconds from `start`) says so."""
        due = self.deadline(start, working_days)
        return due if cap_seconds is None else min(due, start + timedelta(seconds=cap_seconds))

    def window(self, start: date, days: int = SNAPSHOT_DAYS) -> WorkingCalendar:
        """The part from `start` for `days` days: what a plan submitted on `start` carries."""
        end = start + timedelta(days=days)
        return WorkingCalendar(
            days_off=frozenset(d for d in self.days_off if start <= d <= end),
            days_worked=frozenset(d for d in self.days_worked if start <= d <= end),
            known_until=self.known_until,
        )

    def merged(self, other: WorkingCalendar) -> WorkingCalendar:
        """This calendar with `other`'s years: for each year `other` names, its days alone."""
        years = {d.year for d in other.days_off | other.days_worked}
        if other.known_until is not None:
            years.add(other.known_until.year)
        return WorkingCalendar(
            days_off=frozenset({d for d in self.days_off if d.year not in years} | other.days_off),
            days_worked=frozenset(
                {d for d in self.days_worked if d.year not in years} | other.days_worked
            ),
            known_until=max(filter(None, (self.known_until, other.known_until)), default=None),
        )


def official(extra: Path | None = None) -> WorkingCalendar:
    """The announced calendar (`chinese_calendar`), and a province's file on top of it."""
    import chinese_calendar

    days_off = {d for d in chinese_calendar.holidays if d.weekday() < 5}
    days_worked = {d for d in chinese_calendar.workdays if d.weekday() >= 5}
    calendar = WorkingCalendar(
        days_off=frozenset(days_off),
        days_worked=frozenset(days_worked),
        known_until=date(max(chinese_calendar.holidays).year, 12, 31),
    )
    if extra is not None:
        calendar = calendar.merged(WorkingCalendar.model_validate(orjson.loads(extra.read_bytes())))
    return calendar
