"""One way to connect to Temporal: the pydantic converter on every client."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.service import RetryConfig, RPCError, RPCStatusCode

from infra.settings import Settings


async def connect(
    settings: Settings,
    wait: float = 30.0,
    runtime: Runtime | None = None,
    give_up_after: timedelta | None = None,
) -> Client:
    """Connect, waiting up to `wait` seconds for a server that is still starting.

    `give_up_after`: how long one call retries an unavailable server before it raises (the
    API answers 503 rather than keep a caller waiting); default: the SDK's own (10 s).
    """
    retry = None
    if give_up_after is not None:
        retry = RetryConfig(max_elapsed_time_millis=int(give_up_after.total_seconds() * 1000))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        try:
            return await Client.connect(
                settings.temporal,
                namespace=settings.temporal_namespace,
                data_converter=pydantic_data_converter,
                runtime=runtime,
                retry_config=retry,
            )
        except RuntimeError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.5)


# Statuses that say "not now": the server is away, overloaded or slow; the call may be repeated.
UNAVAILABLE = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.UNKNOWN,
    }
)


def unavailable(exc: RPCError) -> bool:
    """True if Temporal could not answer now (an outage), not that it refused the call."""
    return exc.status in UNAVAILABLE
