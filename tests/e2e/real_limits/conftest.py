"""A deployment of these tests' own, every matter at its real time limit (days), real estate
(mnr) trading batch files. Its tests keep a matter waiting, or a process down, for seconds: on
a loaded machine a browser or a process restart takes longer than the shared deployment's
limits of seconds, and the matter would rightly escalate to an operator."""

from __future__ import annotations

import asyncio
import atexit
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from infra.services import Deployment
from infra.settings import Settings
from tests.conftest import Observer, observing, portal_client, stack_settings


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def patient(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Deployment]:
    state = tmp_path_factory.mktemp("real-limits")
    running = Deployment(stack_settings(state, file_departments={"mnr": state / "mnr"}))
    atexit.register(running.down)  # also if pytest itself is interrupted (no-op once down)
    try:
        await asyncio.to_thread(running.up)
        yield running
    finally:
        await asyncio.to_thread(running.down)


@pytest.fixture(scope="package")
def settings(patient: Deployment) -> Settings:
    return patient.settings


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with portal_client(settings) as client:
        yield client


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def observer(settings: Settings) -> AsyncIterator[Observer]:
    async with observing(settings) as seen:
        yield seen
