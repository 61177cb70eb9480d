"""The REST adapter: a department system that is an HTTP service.

Every call carries the command's idempotency key. Timeouts, transport errors and 5xx are
retried with exponential backoff and jitter; 4xx never. After repeated failures a circuit
breaker stops calling. A command the department could not take after every try (or while the
breaker is open) is answered `failed`: the workflow dispatches it again, then escalates it.
"""

from __future__ import annotations

import asyncio
import random
import time

import httpx

from adapters import metrics
from adapters.base import DepartmentAdapter, answer, answer_from
from adapters.breaker import CircuitBreaker
from events.contracts import Outcome, TaskCommand, TaskResult
from infra.logging import get_logger

log = get_logger(__name__)

# What a department's HTTP answer means for the task (2xx bodies carry their own outcome).
STATUS_OUTCOMES: dict[int, Outcome] = {
    400: Outcome.REJECTED,  # the department refuses the request as made
    401: Outcome.FAILED,  # our credentials: never the applicant's fault, an operator's matter
    403: Outcome.FAILED,  # the same
    404: Outcome.REJECTED,  # the department does not know the matter
    409: Outcome.REJECTED,  # it conflicts with the department's records
    422: Outcome.SUPPLEMENT_REQUIRED,  # fields are missing or wrong: ask the applicant
}
TRANSIENT = {408, 429}  # and every 5xx: tried again
LONGEST_RETRY_AFTER = 30.0
# checked here before the call; the call's own credentials prove OneThing to the department
NOT_SENT = {"reply_token", "signature", "signature_key_id"}


class RestDepartment(DepartmentAdapter):
    """POSTs each command to `{base_url}/tasks/{action}` and maps the answer to a result."""

    def __init__(
        self,
        department: str,
        client: httpx.AsyncClient,
        *,
        tries: int = 4,
        backoff: float = 0.2,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.department = department
        self._client = client
        self._tries = tries
        self._backoff = backoff
        self.breaker = breaker or CircuitBreaker()
        metrics.BREAKERS.watched[department] = self.breaker

    async def handle(self, command: TaskCommand) -> TaskResult:
        why = "no answer"
        for attempt in range(1, self._tries + 1):
            if not self.breaker.allows():
                log.warning("department_circuit_open")
                return answer(command, Outcome.FAILED, reason="the department's system is down")
            wait = self._backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
            if attempt > 1:
                metrics.RETRIES.labels(self.department).inc()
            started = time.perf_counter()
            try:
                response = await self._client.post(
                    f"/tasks/{command.action.value}",
                    json=command.model_dump(mode="json", exclude=NOT_SENT),
                    headers={"Idempotency-Key": command.idempotency_key},
                )
            except httpx.TransportError as exc:  # timeouts included
                metrics.CALLS.labels(self.department, "unreachable").inc()
                self.breaker.failed()
                why = f"unreachable ({type(exc).__name__})"
                log.warning("department_unreachable", error=type(exc).__name__, call=attempt)
            except BaseException:
                self.breaker.failed()  # a trial call is released whatever it raises
                raise
            else:
                status = response.status_code
                metrics.CALLS.labels(self.department, str(status)).inc()
                metrics.LATENCY.labels(self.department).observe(time.perf_counter() - started)
                if status < 500 and status not in TRANSIENT:
                    self.breaker.succeeded()
                    if status == 202:  # taken in: the time limit watches it
                        return answer(command, Outcome.ACCEPTED)
                    return _result(command, response)
                self.breaker.failed()
                why = f"HTTP {status}"
                wait = max(wait, _retry_after(response))
                log.warning("department_error", status=status, call=attempt)
            if attempt < self._tries:
                await asyncio.sleep(wait)
        reason = f"the department's system failed {self._tries} calls: {why}"
        return answer(command, Outcome.FAILED, reason=reason)


def _retry_after(response: httpx.Response) -> float:
    """Seconds the department asked us to wait (`Retry-After`), capped; 0 if it did not."""
    try:
        return min(float(response.headers.get("Retry-After", 0)), LONGEST_RETRY_AFTER)
    except ValueError:
        return 0.0


def _result(command: TaskCommand, response: httpx.Response) -> TaskResult:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    reason = body.get("reason") or f"the department answered HTTP {response.status_code}"
    if response.is_success:
        return answer_from(command, body)
    outcome = STATUS_OUTCOMES.get(response.status_code, Outcome.REJECTED)
    if outcome is Outcome.FAILED:
        reason = f"the department refused our credentials (HTTP {response.status_code})"
    fields = body.get("fields") if outcome is Outcome.SUPPLEMENT_REQUIRED else None
    return answer(command, outcome, reason=reason, supplement_fields=fields)
