"""One way to connect to Temporal: the pydantic converter on every client."""

from __future__ import annotations

import asyncio

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

from infra.settings import Settings


async def connect(settings: Settings, wait: float = 30.0, runtime: Runtime | None = None) -> Client:
    """Connect, waiting up to `wait` seconds for a server that is still starting."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        try:
            return await Client.connect(
                settings.temporal,
                namespace=settings.temporal_namespace,
                data_converter=pydantic_data_converter,
                runtime=runtime,
            )
        except RuntimeError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.5)
