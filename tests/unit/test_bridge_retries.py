"""The bridge asks Temporal again while it cannot answer, and gives up only when told to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.bridge.apply import retrying


def answering_after(
    failures: int, status: RPCStatusCode
) -> tuple[list[int], Callable[[], Awaitable[bool]]]:
    calls: list[int] = []

    async def call() -> bool:
        calls.append(1)
        if len(calls) <= failures:
            raise RPCError("query timed out before a worker could process it", status, b"")
        return True

    return calls, call


async def test_a_query_that_timed_out_is_asked_again() -> None:
    calls, call = answering_after(2, RPCStatusCode.DEADLINE_EXCEEDED)
    assert await retrying(call, ceiling=0.01, give_up_after=5.0) is True
    assert len(calls) == 3


async def test_a_workflow_that_never_answers_is_given_up_after_the_grace() -> None:
    calls, call = answering_after(10_000, RPCStatusCode.DEADLINE_EXCEEDED)
    with pytest.raises(RPCError):
        await retrying(call, ceiling=0.01, give_up_after=0.3)
    assert len(calls) > 1


async def test_a_refusal_is_not_asked_again() -> None:
    calls, call = answering_after(1, RPCStatusCode.INVALID_ARGUMENT)
    with pytest.raises(RPCError):
        await retrying(call, give_up_after=5.0)
    assert len(calls) == 1
