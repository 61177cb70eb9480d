"""The workflow alone, on a real Temporal dev server: no broker, no departments.

The activities are replaced by functions of the same names that answer as a script says.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator

import pytest
import pytest_asyncio
from temporalio.client import Client

from infra.services import on_free_ports
from infra.settings import Settings
from infra.stack import TEMPORAL, EmbeddedStack
from orchestrator.client import connect


@pytest.fixture(scope="session")
def temporal_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = on_free_ports(tmp_path_factory.mktemp("temporal-only"))
    stack = EmbeddedStack(settings)
    atexit.register(stack.down)
    try:
        stack.up(parts=(TEMPORAL,))
        yield settings
    finally:
        stack.down()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def client(temporal_only: Settings) -> Client:
    return await connect(temporal_only)
