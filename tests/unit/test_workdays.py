"""Working days: public holidays, weekends worked in their place, limits counted on them."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import yaml
from pydantic import ValidationError

from one_things import CATALOGUE_DIR, Applicant, form_model, load_catalogue, load_one_thing, plan
from one_things.errors import CatalogueError
from one_things.schema import TimeLimit
from one_things.workdays import CHINA, WorkingCalendar, official
from orchestrator.workflow import steps

CALENDAR = official()
CATALOGUE = load_catalogue()


def china(day: date, hour: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA)


def test_the_national_day_holiday_is_not_counted() -> None:
    # 2026: 1 to 7 October off; the 8th is worked
    assert CALENDAR.working_day(date(2026, 9, 30), 1) == date(2026, 10, 8)


def test_a_saturday_worked_in_a_holidays_place_counts() -> None:
    assert date(2026, 10, 10).weekday() == 5
    assert CALENDAR.is_working(date(2026, 10, 10))
    assert CALENDAR.working_day(date(2026, 10, 9), 1) == date(2026, 10, 10)


def test_a_deadline_is_the_end_of_the_last_working_day_in_china() -> None:
    # 23:30 UTC on 29 September is 07:30 on the 30th in China: counted from the 30th
    started = datetime(2026, 9, 29, 23, 30, tzinfo=UTC)
    assert CALENDAR.deadline(started, 1) == china(date(2026, 10, 9))
    assert CALENDAR.deadline(started, 1).astimezone(UTC) == datetime(2026, 10, 8, 16, tzinfo=UTC)


def test_beyond_the_announced_years_monday_to_friday_count() -> None:
    assert CALENDAR.known_until is not None
    later = date(CALENDAR.known_until.year + 1, 1, 1)
    weekdays = [later + timedelta(days=i) for i in range(14)]
    assert [CALENDAR.is_working(d) for d in weekdays] == [d.weekday() < 5 for d in weekdays]


def test_a_provinces_file_announces_a_year_the_package_does_not_know(tmp_path: Path) -> None:
    assert CALENDAR.known_until is not None
    year = CALENDAR.known_until.year + 1
    announced = {
        "days_off": [f"{year}-01-01"],
        "days_worked": [f"{year}-01-02"],
        "known_until": f"{year}-12-31",
    }
    file = tmp_path / "calendar.json"
    file.write_bytes(orjson.dumps(announced))
    calendar = official(file)
    new_year = date(year, 1, 1)
    assert not calendar.is_working(new_year) and calendar.is_working(date(year, 1, 2))
    assert calendar.known_until == date(year, 12, 31)
    assert not calendar.is_working(date(2026, 10, 1))  # the package's years stay as they were


def test_a_plan_carries_the_calendar_from_its_day() -> None:
    window = CALENDAR.window(date(2026, 9, 1), days=60)
    assert date(2026, 10, 1) in window.days_off and date(2026, 10, 10) in window.days_worked
    assert all(date(2026, 9, 1) <= d <= date(2026, 10, 31) for d in window.days_off)
    assert WorkingCalendar.model_validate_json(window.model_dump_json()) == window


def test_time_limits_are_working_days_or_durations() -> None:
    assert TimeLimit.model_validate("P5WD").working_days == 5
    assert TimeLimit.model_validate("PT2H").duration == timedelta(hours=2)
    assert str(TimeLimit.model_validate("P3D")) == "P3D"
    for wrong in ("P0WD", "PT0S", "five days"):
        with pytest.raises(ValidationError):
            TimeLimit.model_validate(wrong)


def test_a_dispatch_waits_to_its_last_working_days_end_or_its_cap() -> None:
    birth = CATALOGUE.get("birth")
    form = form_model(birth).model_validate(birth.example.form)
    applicant = Applicant.model_validate(birth.example.applicant)
    submitted = china(date(2026, 9, 30), 15)
    uncapped = plan(birth, applicant, form, calendar=CALENDAR.window(submitted.date()))
    certificate = uncapped.tasks[0]
    assert certificate.working_days == 1 and certificate.time_limit_seconds is None
    assert submitted + steps.time_limit(certificate, uncapped, submitted) == china(
        date(2026, 10, 9)
    )
    # P5WD: the 8th, the 9th, Saturday the 10th (worked), the 12th and the 13th
    assert steps.overall_deadline(uncapped, submitted) == china(date(2026, 10, 14))
    # dispatched again two days on, it waits for what is left of the first promise only
    due = steps.promised(certificate, uncapped, submitted)
    assert due == china(date(2026, 10, 9))
    again = submitted + timedelta(days=2)
    assert steps.time_limit(certificate, uncapped, again, due) == due - again
    assert steps.time_limit(certificate, uncapped, due, due) == steps.LEAST_WAIT
    capped = plan(birth, applicant, form, 3.0, calendar=CALENDAR.window(submitted.date()))
    assert steps.time_limit(capped.tasks[0], capped, submitted) == timedelta(seconds=3)


def test_the_catalogue_names_a_lead_department_and_a_limit_covering_its_matters(
    tmp_path: Path,
) -> None:
    for one_thing in CATALOGUE:
        assert one_thing.lead_department in {m.department for m in one_thing.matters}
    source = yaml.safe_load((CATALOGUE_DIR / "birth.yaml").read_text())
    for change, field in (
        ({"lead_department": "mot"}, "lead_department"),
        ({"time_limit": "P2WD"}, "time_limit"),  # its longest chain takes 5
    ):
        changed = yaml.safe_dump({**source, **change}, allow_unicode=True)
        (tmp_path / "birth.yaml").write_text(changed)
        with pytest.raises(CatalogueError) as refused:
            load_one_thing(tmp_path / "birth.yaml")
        assert refused.value.field == field
