"""The embedded stack: idempotent `up`, clear errors, topics created."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from events import topics
from infra.errors import StackError
from infra.settings import Settings
from infra.stack import EmbeddedStack
from one_things import load_catalogue
from tests.conftest import stack_settings

pytestmark = pytest.mark.stack


def test_up_on_a_running_stack_is_a_no_op(settings: Settings) -> None:
    stack = EmbeddedStack(settings)
    before = stack.status()
    assert all(before.values())
    stack.up()
    assert stack.status() == before


def test_a_port_taken_by_something_else_is_named(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        stack = EmbeddedStack(stack_settings(tmp_path, kafka_port=port))
        with pytest.raises(StackError, match=f"port {port} \\(Kafka-protocol broker\\) is already"):
            stack.up()
    assert not any(stack.status().values())


async def test_every_topic_exists(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
    finally:
        await admin.close()
    expected = topics.all_topics(load_catalogue().departments())
    assert set(expected) <= existing
    assert "dept.nhsa.tasks" in existing and "onething.dlq" in existing
