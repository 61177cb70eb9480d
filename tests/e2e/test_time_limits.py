"""承诺时限 in working days: a deployment's calendar decides when an application is due."""

from datetime import date, datetime, time, timedelta

import httpx
import orjson

from infra.settings import Settings
from one_things.workdays import CHINA
from tests.e2e.helpers import body, finished, submit


async def test_a_time_limit_over_a_public_holiday_lands_on_the_right_working_day(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    assert settings.working_calendar is not None  # a holiday from tomorrow (tests/conftest.py)
    holiday = orjson.loads(settings.working_calendar.read_bytes())
    saturday = date.fromisoformat(holiday["days_worked"][0])
    progress = await finished(http, await submit(http, body("birth")))
    assert progress.status.value == "approved"
    assert (progress.lead_department, progress.time_limit) == ("nhc", "P5WD")
    # five working days: the Saturday worked in the holiday's place, then Monday to Thursday
    thursday = saturday + timedelta(days=5)
    assert progress.deadline == datetime.combine(thursday + timedelta(days=1), time(), CHINA)
    assert [t.working_days for t in progress.tasks][:2] == [1, 1]  # the certificates: P1WD
