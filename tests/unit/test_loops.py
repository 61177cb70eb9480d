"""A process's loops run until it stops, or it dies loudly."""

from __future__ import annotations

import asyncio

import pytest

from infra.errors import LoopEnded
from infra.loops import run_until_stopped


async def forever() -> None:
    await asyncio.Event().wait()


async def dies() -> None:
    raise RuntimeError("the consumer stopped")


async def test_a_loop_that_ends_ends_the_process_loudly() -> None:
    with pytest.raises(LoopEnded, match="the consumer stopped"):
        await asyncio.wait_for(run_until_stopped(None, forever(), dies()), 5)


async def test_a_stop_ends_every_loop_quietly() -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)
    await asyncio.wait_for(run_until_stopped(stop, forever(), forever()), 5)
