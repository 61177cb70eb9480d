"""A deployment of these tests' own, every matter at its real time limit (days), real estate
(mnr) trading batch files. Its tests keep a matter waiting, or a process down, for seconds: on
a loaded machine a browser or a process restart takes longer than the shared deployment's
limits of seconds, and the matter would rightly escalate to an operator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio

from infra.services import Deployment
from infra.settings import Settings
from tests.conftest import Observer, observing, portal_client, running, stack_settings


@pytest.fixture(scope="package")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    state = tmp_path_factory.mktemp("real-limits")
    with running(stack_settings(state, file_departments={"mnr": state / "mnr"})) as up:
        yield up


@pytest.fixture(scope="package")
def settings(deployment: Deployment) -> Settings:
    return deployment.settings


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with portal_client(settings) as client:
        yield client


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def observer(settings: Settings) -> AsyncIterator[Observer]:
    async with observing(settings) as seen:
        yield seen
