"""Consumer loops of a process: all run until it is told to stop, or it dies loudly."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from infra.errors import LoopEnded


async def run_until_stopped(stop: asyncio.Event | None, *loops: Coroutine[Any, Any, Any]) -> None:
    """Run `loops` until `stop` is set; if one ends first, stop the others and raise.

    A process whose consumer has stopped exits non-zero, so its supervisor restarts it:
    never a live process that consumes nothing.
    """
    tasks = [asyncio.ensure_future(loop) for loop in loops]
    stopping = asyncio.ensure_future((stop or asyncio.Event()).wait())
    done, _ = await asyncio.wait([*tasks, stopping], return_when=asyncio.FIRST_COMPLETED)
    for task in [*tasks, stopping]:
        task.cancel()
    for task in [*tasks, stopping]:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    if stopping not in done:
        ended = next(iter(done))
        cause = None if ended.cancelled() else ended.exception()
        raise LoopEnded(f"a consumer loop ended: {cause!r}") from cause
