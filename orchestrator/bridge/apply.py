"""Apply a department's result to the activity that waits for it (async completion)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TypeVar

import orjson
from pydantic import JsonValue, ValidationError
from structlog.contextvars import bound_contextvars
from temporalio.client import AsyncActivityHandle, Client, WorkflowQueryFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from events import topics
from events.contracts import (
    Action,
    Outcome,
    TaskResult,
)
from events.envelope import loads, traceparent_of
from infra import tracing
from infra.kafka import Received
from infra.logging import get_logger
from infra.sealing import Sealer
from infra.settings import Settings
from orchestrator.bridge import checks, late
from orchestrator.client import unavailable
from orchestrator.stores.audit import GroupCommit, audit_trail
from orchestrator.workflow import reply
from orchestrator.workflow.models import ApplicationStatus, TakenIn, TaskAnswer, TaskState
from orchestrator.workflow.names import TAKEN_IN

log = get_logger(__name__)
T = TypeVar("T")

# topic, key, value, headers
Publish = Callable[[str, bytes, bytes, list[tuple[str, bytes]] | None], Awaitable[None]]
RECORDING_GRACE = 30.0  # seconds a current dispatch's activity may take to be recorded
WAITING_FOR_ANSWER = {TaskState.DISPATCHED, TaskState.ACCEPTED}
# A workflow in these may still be recording a dispatch whose command is out; one that turned
# back meanwhile (withdrawn) never records it: that answer is stale, and undone if approved.
GOING_ON = {ApplicationStatus.RUNNING, ApplicationStatus.AWAITING_SUPPLEMENT}


class Unplaced(Exception):
    """An answer whose dispatch cannot be found, though its workflow may still wait for it."""


class ResultApplier:
    """Completes the waiting `await_answer` activity with a department's result.

    A result whose dispatch is over (duplicate, stale, or its application ended) finds no
    activity: Temporal answers NotFound, and it is counted, never applied twice. Whatever one
    message raises, it is dead-lettered with the reason and the next one is taken.
    """

    def __init__(
        self,
        client: Client,
        publish: Publish,
        settings: Settings,
        recording_grace: float = RECORDING_GRACE,
    ) -> None:
        self._client = client
        self._recording_grace = recording_grace
        self._settings = settings
        self._publish = publish
        self._reply_keys = settings.secret_key_bytes("reply")
        self._sealer = Sealer.of(settings)
        self._answer_keys = settings.answer_verifiers()
        self._trail = GroupCommit(audit_trail(settings))
        self.counters: Counter[str] = Counter()

    async def apply(self, raw: bytes, received: Received) -> None:
        try:
            await self._apply(raw, received)
        except Exception as exc:  # one message never stops the bridge
            log.exception(
                "result_not_applied",
                topic=received.topic,
                partition=received.partition,
                offset=received.offset,
            )
            await self.dead_letter(
                f"result not applied: {type(exc).__name__}: {exc}", raw, received
            )

    async def _apply(self, raw: bytes, received: Received) -> None:
        try:
            event = loads(raw, TaskResult)
            result = event.data
            claims = reply.verify(result.reply_token, self._reply_keys)
        except (ValidationError, orjson.JSONDecodeError, ValueError, TypeError) as exc:
            await self.dead_letter(f"invalid task result: {exc}", raw, received)
            return
        with (
            tracing.consuming(traceparent_of(event), f"{received.topic} apply"),
            bound_contextvars(  # every log line of this answer says which it is
                application_id=result.application_id,
                task_id=result.task_id,
                attempt=result.attempt,
                outcome=result.outcome.value,
            ),
        ):
            await self._answer(result, claims, raw, received)

    async def _answer(
        self, result: TaskResult, claims: reply.Claims, raw: bytes, received: Received
    ) -> None:
        """Check the answer, then complete the dispatch it answers (or count it stale)."""
        handle = self._client.get_async_activity_handle(
            workflow_id=claims.w, run_id=claims.r, activity_id=claims.a
        )
        refusal = checks.check(result, claims, self._answer_keys)
        if refusal is not None:
            await self._refuse(handle, result, refusal, raw, received)
            return
        try:
            completed = await self._complete_once_recorded(handle, result, claims)
        except RPCError as exc:
            if exc.status is RPCStatusCode.INVALID_ARGUMENT:
                await self.dead_letter(f"reply token rejected: {exc}", raw, received)
                return
            raise
        except Unplaced as exc:  # an operator replays it (`onething ops dlq replay`)
            self.counters["unplaced"] += 1
            await self.dead_letter(f"answer not placed: {exc}", raw, received)
            return
        if not completed:
            self.counters["stale"] += 1
            log.info("result_stale")
            if result.outcome is Outcome.APPROVED and await retrying(  # a busy workflow: ask again
                lambda: late.undo_if_given_up(self._client, result, self._settings),
                ceiling=2.0,
                give_up_after=self._recording_grace,
            ):
                self.counters["late_result_undone"] += 1
                log.info("late_result_undo_started")
            return
        self.counters["applied"] += 1
        self.counters[f"outcome.{result.outcome.value}"] += 1
        log.info("result_applied")
        await self._record(result, claims)

    async def _record(self, result: TaskResult, claims: reply.Claims) -> None:
        """The answer, in its application's audit trail (its outputs by name only)."""
        detail: dict[str, JsonValue] = {
            "task": result.task_id,
            "action": claims.x.value,
            "attempt": result.attempt,
            "outcome": result.outcome.value,
            "outputs": list(sorted(result.outputs)),
        }
        try:
            link = ("answer", result.department, detail)
            await self._trail.append(claims.p or claims.w, [link])
        except Exception:  # the answer is applied: its trail entry alone is missing
            self.counters["audit_failed"] += 1
            log.exception("answer_not_in_audit_trail")

    async def _complete_once_recorded(
        self, handle: AsyncActivityHandle, result: TaskResult, claims: reply.Claims
    ) -> bool:
        """Complete the dispatch; False if it is over (the answer is stale).

        The command goes out from within the workflow task that starts the waiting activity,
        so a quick department can answer before Temporal has recorded that activity: while
        the workflow says the dispatch is current, or cannot say (a worker too busy to answer
        a query in time), the completion is tried again for a while; then the answer is kept
        for an operator, never dropped as stale on a guess.
        """
        delay, since = 0.05, time.monotonic()
        while True:
            try:
                await retrying(lambda: self._complete(handle, result, claims))
                return True
            except RPCError as exc:
                if exc.status is not RPCStatusCode.NOT_FOUND:
                    raise
            current = await self._dispatch_current(claims)
            if current is False:
                return False
            waited = time.monotonic() - since
            if waited >= self._recording_grace:
                why = "is not recorded" if current else "did not answer whether it is current"
                raise Unplaced(f"the dispatch this answer names {why} after {waited:.0f} s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def _dispatch_current(self, claims: reply.Claims) -> bool | None:
        """Whether the workflow still waits for (or is about to record) the dispatch the
        claims name; None if it does not answer."""
        workflow = self._client.get_workflow_handle(claims.w, run_id=claims.r)
        try:
            progress = await late.query_progress(workflow)
        except RPCError as exc:
            return False if exc.status is RPCStatusCode.NOT_FOUND else None
        except WorkflowQueryFailedError:
            return None
        task = progress.find(claims.task_id)
        if task is None or progress.finished:
            return False
        if claims.x is Action.HANDLE:
            recording = task.attempt == claims.n - 1 and progress.status in GOING_ON
            return recording or (task.attempt == claims.n and task.state in WAITING_FOR_ANSWER)
        return task.state in (TaskState.COMPENSATING, TaskState.APPROVED)

    async def _refuse(
        self,
        handle: AsyncActivityHandle,
        result: TaskResult,
        refusal: checks.Refusal,
        raw: bytes,
        received: Received,
    ) -> None:
        """Not applied: dead-lettered; a faulty answer of the right department also fails its
        dispatch, so the task is sent again and, after its attempts, escalated."""
        self.counters["refused"] += 1
        await self.dead_letter(f"answer refused: {refusal.reason}", raw, received)
        if not refusal.fails_task:
            return
        failure = ApplicationError(f"answer refused: {refusal.reason}", type="AnswerRefused")
        try:
            await retrying(lambda: handle.fail(failure))
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:  # over already: nothing to fail
                raise

    async def _complete(
        self, handle: AsyncActivityHandle, result: TaskResult, claims: reply.Claims
    ) -> None:
        if result.outcome is Outcome.ACCEPTED:  # interim: the workflow notes it, still waits
            workflow = self._client.get_workflow_handle(claims.w, run_id=claims.r)
            await workflow.signal(TAKEN_IN, TakenIn(task_id=claims.task_id, attempt=claims.n))
            return
        if result.outcome is Outcome.FAILED:
            await handle.fail(ApplicationError(result.reason or "failed", type="DepartmentFailed"))
            return
        await handle.complete(
            TaskAnswer(
                outcome=result.outcome,
                attempt=result.attempt,
                outputs=result.outputs,
                reason=result.reason,
                supplement_fields=result.supplement_fields,
                department_reference=result.department_reference,
            )
        )

    async def dead_letter(self, reason: str, raw: bytes, received: Received) -> None:
        """Keep the message in onething.dlq, sealed, with its key and headers as it came."""
        self.counters["dead_lettered"] += 1
        topic, partition, offset, key, headers = received
        log.warning("message_dead_lettered", topic=topic, partition=partition, offset=offset)
        letter = self._sealer.dead_letter(reason, raw, topic, partition, offset)
        fallback = f"{topic}/{partition}/{offset}".encode()
        await self._publish(
            topics.DLQ, key if key is not None else fallback, letter.encode(), headers
        )


async def retrying(
    call: Callable[[], Awaitable[T]], ceiling: float = 10.0, give_up_after: float | None = None
) -> T:
    """Retry transient Temporal errors with backoff: a result is never dropped for them (after
    `give_up_after` seconds, if given, the error is raised: the message is dead-lettered)."""
    delay, since = 0.2, time.monotonic()
    while True:
        try:
            return await call()
        except RPCError as exc:
            if not unavailable(exc):
                raise
            if give_up_after is not None and time.monotonic() - since >= give_up_after:
                raise
            log.warning("temporal_unavailable_retrying", status=exc.status.name, delay=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, ceiling)
