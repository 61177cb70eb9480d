import httpx
import pytest

from adapters.breaker import CircuitBreaker
from adapters.rest import RestDepartment
from events import Outcome
from tests.factories import task_command

COMMAND = task_command(
    task_id="housing_fund",
    attempt=2,
    matter="housing_fund",
    department="hpf",
    reply_token="token-2",
)


def department(
    answers: list[httpx.Response | Exception], **options: object
) -> tuple[RestDepartment, list[httpx.Request]]:
    calls: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        given = answers.pop(0)
        if isinstance(given, Exception):
            raise given
        return given

    client = httpx.AsyncClient(transport=httpx.MockTransport(respond), base_url="http://hpf")
    return RestDepartment("hpf", client, backoff=0.001, **options), calls  # type: ignore[arg-type]


async def test_timeouts_and_5xx_are_retried_with_the_same_idempotency_key() -> None:
    approved = httpx.Response(
        200, json={"outcome": "approved", "outputs": {"account": "A1"}, "reference": "HPF-9"}
    )
    adapter, calls = department([httpx.ReadTimeout("slow"), httpx.Response(503), approved])
    result = await adapter.handle(COMMAND)
    assert result is not None and result.outcome is Outcome.APPROVED
    assert result.outputs == {"account": "A1"} and result.department_reference == "HPF-9"
    assert (result.attempt, result.reply_token) == (2, "token-2")
    assert len(calls) == 3
    assert {c.headers["Idempotency-Key"] for c in calls} == {"ot-1/housing_fund/handle"}
    assert calls[0].url.path == "/tasks/handle"


async def test_4xx_is_never_retried_and_maps_to_an_outcome() -> None:
    adapter, calls = department([httpx.Response(404, json={"reason": "no such matter"})])
    result = await adapter.handle(COMMAND)
    assert result is not None and result.outcome is Outcome.REJECTED
    assert result.reason == "no such matter" and len(calls) == 1
    adapter, calls = department([httpx.Response(422, json={"fields": ["payroll"]})])
    result = await adapter.handle(COMMAND)
    assert result is not None and result.outcome is Outcome.SUPPLEMENT_REQUIRED
    assert result.supplement_fields == ["payroll"]


async def test_a_department_that_stays_down_is_answered_failed_and_trips_the_breaker() -> None:
    breaker = CircuitBreaker(threshold=3, cool_down=60)
    adapter, calls = department([httpx.Response(500)] * 4, breaker=breaker, tries=4)
    first = await adapter.handle(COMMAND)  # never dropped: the workflow dispatches it again
    assert first.outcome is Outcome.FAILED and first.reason is not None
    assert len(calls) == 3 and breaker.state == "open"
    second = await adapter.handle(COMMAND)
    assert second.outcome is Outcome.FAILED and "down" in (second.reason or "")
    assert len(calls) == 3  # not called while open


def test_breaker_half_opens_after_its_cool_down() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=2, cool_down=10, clock=lambda: now[0])
    breaker.failed()
    breaker.failed()
    assert not breaker.allows()
    now[0] = 10.0
    assert breaker.allows() and not breaker.allows()  # one trial call
    breaker.failed()
    assert breaker.state == "open"
    now[0] = 20.0
    assert breaker.allows()
    breaker.succeeded()
    assert breaker.state == "closed" and breaker.allows()


async def test_a_case_taken_in_without_a_decision_waits_without_tripping_the_breaker() -> None:
    breaker = CircuitBreaker(threshold=1, cool_down=60)
    adapter, calls = department([httpx.Response(202, json={"outcome": None})] * 2, breaker=breaker)
    for _ in range(2):
        interim = await adapter.handle(COMMAND)
        assert interim is not None and interim.outcome is Outcome.ACCEPTED
    assert len(calls) == 2 and breaker.state == "closed"


async def test_408_and_429_are_retried_honouring_retry_after() -> None:
    approved = httpx.Response(200, json={"outcome": "approved", "outputs": {}})
    busy = httpx.Response(429, headers={"Retry-After": "0.05"})
    adapter, calls = department([httpx.Response(408), busy, approved], tries=4)
    result = await adapter.handle(COMMAND)
    assert result.outcome is Outcome.APPROVED and len(calls) == 3


async def test_our_refused_credentials_never_reject_the_applicant() -> None:
    adapter, _ = department([httpx.Response(403, json={"reason": "forbidden"})])
    result = await adapter.handle(COMMAND)
    assert result.outcome is Outcome.FAILED  # dispatched again, then escalated to an operator
    assert result.reason and "credentials" in result.reason


async def test_a_trial_call_is_released_whatever_it_raises() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=1, cool_down=10, clock=lambda: now[0])
    adapter, _ = department(
        [
            httpx.Response(500),
            RuntimeError("a defect"),
            httpx.Response(200, json={"outcome": "approved"}),
        ],
        breaker=breaker,
        tries=1,
    )
    assert (await adapter.handle(COMMAND)).outcome is Outcome.FAILED
    now[0] = 11  # half-open: one trial call
    with pytest.raises(RuntimeError):  # a defect reaches the runtime (it dead-letters it)
        await adapter.handle(COMMAND)
    assert breaker.state == "open"  # the trial failed: open again, not stuck half-open
    now[0] = 22
    assert (await adapter.handle(COMMAND)).outcome is Outcome.APPROVED
