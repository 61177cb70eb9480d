"""Fixtures: one real deployment (Temporal dev server, broker, every process) per test run."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from temporalio.client import Client

from events import topics
from events.proof import request_signing_bytes
from infra import kafka
from infra.services import Deployment, on_free_ports
from infra.settings import Settings
from infra.signing import Signer, new_pair
from one_things import Applicant, load_catalogue
from one_things.workdays import CHINA
from orchestrator.client import connect
from orchestrator.intake.identity import ASSERTION_HEADER, assertion_for, issue_assertion

# distinct latencies, so tasks complete in a known order; tax answers after bank
LATENCY = {
    "amr": 0.6,
    "psb": 0.2,
    "hrss": 0.3,
    "hpf": 0.4,
    "bank": 0.7,
    "tax": 0.9,
    "nhc": 0.3,
    "nhsa": 0.4,
}


PORTAL_KEY = "portal-a-0123456789abcdef-0123456789"
OTHER_PORTAL_KEY = "portal-b-0123456789abcdef-0123456789"
OPERATOR_KEY = "operator-0123456789abcdef-0123456789"
AMR_KEY = "department-amr-0123456789abcdef-0123"
TAX_KEY = "department-tax-0123456789abcdef-0123"
MVA_KEY = "department-mva-0123456789abcdef-0123"
API_KEYS = {
    "portal-a": {"key": PORTAL_KEY, "role": "portal"},
    "portal-b": {"key": OTHER_PORTAL_KEY, "role": "portal"},
    "operator": {"key": OPERATOR_KEY, "role": "operator"},
    "department-amr": {"key": AMR_KEY, "role": "department", "department": "amr"},
    "department-tax": {"key": TAX_KEY, "role": "department", "department": "tax"},
    "department-mva": {"key": MVA_KEY, "role": "department", "department": "mva"},
}


# each portal signs its requests on onething.applications with a key of its own, not its API key
PORTAL_REQUEST_KEY, PORTAL_REQUEST_PUBLIC = new_pair()
OTHER_PORTAL_REQUEST_KEY, OTHER_PORTAL_REQUEST_PUBLIC = new_pair()
PORTAL_REQUEST_KEYS = {
    "portal-a": {"pa1": PORTAL_REQUEST_PUBLIC},
    "portal-b": {"pb1": OTHER_PORTAL_REQUEST_PUBLIC},
}


def portal_signed(request: dict[str, Any], source: str, private: str) -> dict[str, Any]:
    """An application request (its event data) as a portal sends it: signed with its request
    key, named by id."""
    key_id = next(iter(PORTAL_REQUEST_KEYS[source])) if source in PORTAL_REQUEST_KEYS else "x"
    named = {**request, "signature_key_id": key_id, "signature": None}
    return {
        **named,
        "signature": Signer(key_id, private).sign(request_signing_bytes(source, named)),
    }


def stack_settings(state_dir: Path, **overrides: object) -> Settings:
    """Settings on free ports, so two runs never clash."""
    defaults = {
        "sim_latency": LATENCY,
        "sim_default_latency": 0.3,
        "api_keys": API_KEYS,
        "sample_materials": True,
        "metrics_refresh_seconds": 1,
        "portal_request_keys": PORTAL_REQUEST_KEYS,
    }
    return on_free_ports(state_dir, **{**defaults, **overrides})


def holiday_calendar(file: Path) -> Path:
    """A province's calendar for the test deployment: a holiday from tomorrow (in China) to the
    Monday at least nine days ahead, its Saturday before worked. Limits counted from today or
    tomorrow end on that Saturday, then the Monday on."""
    today = datetime.now(CHINA).date()
    monday = today + timedelta(days=9 + (7 - (today + timedelta(days=9)).weekday()) % 7)
    off = [today + timedelta(days=i) for i in range(1, (monday - today).days)]
    calendar = {
        "days_off": [d.isoformat() for d in off if d.weekday() < 5],
        "days_worked": [(monday - timedelta(days=2)).isoformat()],
    }
    file.write_bytes(orjson.dumps(calendar))
    return file


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    state = tmp_path_factory.mktemp("onething")
    s = stack_settings(
        state,
        working_calendar=holiday_calendar(state / "calendar.json"),
        file_departments={"mnr": state / "exchange" / "mnr"},  # real estate trades batch files
        dispatch_attempts=2,
        undo_attempts=2,
        rest_breaker_cool_down_seconds=2,  # one test's failing department must not stall the next
        time_limit_cap_seconds=3,
        supplement_time_limit_seconds=6,
    )
    with running(s):
        yield s


@contextlib.contextmanager
def running(settings: Settings) -> Iterator[Deployment]:
    """A deployment up for as long as the block, and down after it."""
    deployment = Deployment(settings)
    atexit.register(deployment.down)  # also if pytest itself is interrupted (no-op once down)
    try:
        deployment.up()
        yield deployment
    finally:
        deployment.down()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal(settings: Settings) -> Client:
    return await connect(settings)


def vouching(settings: Settings) -> Callable[[httpx.Request], Awaitable[None]]:
    """A portal that authenticated its applicants: each submission without an assertion gets
    one for the applicant it names, from the deployment's development identity provider."""

    async def add_assertion(request: httpx.Request) -> None:
        if request.method != "POST" or request.url.path != "/v1/applications":
            return
        if ASSERTION_HEADER in request.headers:
            return
        with contextlib.suppress(ValueError, KeyError, TypeError):
            applicant = Applicant.model_validate(orjson.loads(request.content)["applicant"])
            request.headers[ASSERTION_HEADER] = assertion_for(settings, applicant, "portal-a")

    return add_assertion


def as_applicant(settings: Settings, id_number: str, portal: str = "portal-a") -> dict[str, str]:
    """The header `portal` sends for an applicant it authenticated (good once)."""
    return {ASSERTION_HEADER: issue_assertion(settings, id_number, portal=portal)}


def portal_client(settings: Settings, timeout: float = 10) -> httpx.AsyncClient:
    """The API as portal-a sees it: its key, and an assertion for each applicant it submits."""
    return httpx.AsyncClient(
        base_url=settings.api_url,
        timeout=timeout,
        headers={"X-API-Key": PORTAL_KEY},
        event_hooks={"request": [vouching(settings)]},
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API as portal-a sees it (most tests act as the portal)."""
    async with portal_client(settings) as client:
        yield client


@dataclass
class Observer:
    """Every message on our topics, read by a consumer group of its own."""

    records: list[ConsumerRecord] = field(default_factory=list)

    def on(self, topic: str, application_id: str | None = None) -> list[dict]:  # type: ignore[type-arg]
        return [
            orjson.loads(r.value)
            for r in self.records
            if r.topic == topic and (application_id is None or r.key == application_id.encode())
        ]

    def raw(self, topic: str, application_id: str) -> list[ConsumerRecord]:
        return [r for r in self.records if r.topic == topic and r.key == application_id.encode()]


@contextlib.asynccontextmanager
async def observing(settings: Settings) -> AsyncIterator[Observer]:
    kafka.pace_fetches(settings)
    names = topics.all_topics(load_catalogue().departments())
    consumer = AIOKafkaConsumer(
        *names,
        bootstrap_servers=settings.kafka,
        group_id=f"observer-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    seen = Observer()

    async def collect() -> None:
        async for record in consumer:
            seen.records.append(record)

    task = asyncio.create_task(collect())
    yield seen
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await consumer.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def observer(settings: Settings) -> AsyncIterator[Observer]:
    async with observing(settings) as seen:
        yield seen
