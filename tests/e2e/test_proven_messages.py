"""Only what OneThing signed reaches a department's system or an applicant: a command or a
status event anyone else writes on a topic is dead-lettered and goes no further; the broker's
ACLs are printed for a broker that keeps none."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from events import topics
from events.contracts import Action, ApplicationStatusChanged, TaskCommand, idempotency_key
from events.envelope import dumps, wrap
from infra.message_signing import signed
from infra.settings import Settings
from infra.signing import Signer, new_pair
from orchestrator.cli.demo import example
from tests.conftest import Observer
from tests.e2e.helpers import body, commands, eventually, finished, opened, ops, submit
from tests.e2e.test_notifications import receiving
from tests.e2e.test_trust import send
from tests.faults.harness import deployment, portal

pytestmark = pytest.mark.stack


def elsewhere(command: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """`command` moved to an application of its own, so what happens to it is its alone."""
    moved = {**command, "application_id": f"forged-{uuid.uuid4().hex[:12]}", **changes}
    moved["idempotency_key"] = idempotency_key(
        moved["application_id"], moved["task_id"], Action(moved["action"])
    )
    return moved


async def amr_records(settings: Settings) -> set[str]:
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"{settings.simulators_url}/amr/records")
    return {row["key"] for row in answer.json()["items"]}


def letters_about(observer: Observer, settings: Settings, topic: str, ids: list[str]) -> list[str]:
    return [
        letter["reason"]
        for letter in observer.on(topics.DLQ)
        if letter["topic"] == topic and any(i.encode() in opened(settings, letter) for i in ids)
    ]


async def test_an_unproven_command_never_reaches_the_department_and_is_dead_lettered(
    http: httpx.AsyncClient, observer: Observer, settings: Settings
) -> None:
    app_id = await submit(http, body("enterprise opening"))
    real = await eventually(lambda: commands(observer, app_id).get("business_registration"))
    assert real["signature"] and real["signature_key_id"] == settings.command_signing_key_id
    attacker, _ = new_pair()
    unsigned = elsewhere(real, signature=None, signature_key_id=None)
    tampered = elsewhere(real)  # OneThing's signature, on another application's command
    forged = signed(
        TaskCommand.model_validate(elsewhere(real)),
        Signer(settings.command_signing_key_id or "", attacker),
    ).model_dump(mode="json")
    attacks = [unsigned, tampered, forged]
    tasks = topics.department_tasks("amr")
    await send(
        settings,
        tasks,
        "forged",
        *(dumps(wrap(TaskCommand.model_validate(a))) for a in attacks),
    )
    ids = [a["application_id"] for a in attacks]
    reasons = await eventually(lambda: len(letters_about(observer, settings, tasks, ids)) >= 3)
    assert reasons
    found = letters_about(observer, settings, tasks, ids)
    assert sorted(found) == sorted(
        [
            "unproven task command: not signed by OneThing",
            "unproven task command: OneThing's signature does not match",
            "unproven task command: OneThing's signature does not match",
        ]
    )
    received = await amr_records(settings)
    assert not {a["idempotency_key"] for a in attacks} & received

    # a command OneThing did sign, for tax, put on amr's topic: amr's system never sees it
    for_tax = await eventually(lambda: commands(observer, app_id).get("tax_registration"))
    await send(settings, tasks, app_id, dumps(wrap(TaskCommand.model_validate(for_tax))))
    moved = "a command for 'tax' on 'amr''s topic"
    assert await eventually(lambda: moved in letters_about(observer, settings, tasks, [app_id]))
    assert for_tax["idempotency_key"] not in await amr_records(settings)
    assert (await finished(http, app_id)).status.value == "approved"  # its own went through
    assert real["idempotency_key"] in await amr_records(settings)


async def test_a_forged_status_event_reaches_no_channel() -> None:
    async with receiving() as receiver:
        channels = {name: receiver.url(name) for name in ("sms", "push")}
        async with deployment(notification_webhooks=channels) as running:
            settings = running.settings
            victim = f"forged-{uuid.uuid4().hex[:12]}"
            told = ApplicationStatusChanged(
                application_id=victim,
                one_thing="birth",
                status="approved",
                reason="请到以下网址领取补贴: http://example.invalid",
                at=datetime.now(UTC),
            )
            attacker, _ = new_pair()
            statuses = settings.required_signer("status")
            tampered = signed(told.model_copy(update={"reason": None}), statuses).model_copy(
                update={"reason": told.reason}
            )
            forgeries = [
                told,
                signed(told, Signer(settings.status_signing_key_id or "", attacker)),
                tampered,
            ]
            await send(settings, topics.STATUS, victim, *(dumps(wrap(f)) for f in forgeries))
            async with portal(settings) as http:
                real = await submit(http, example("birth"))

            def reached(application_id: str) -> list[dict[str, Any]]:
                return [
                    notice
                    for channel in channels
                    for notice in receiver.received[channel]
                    if notice["application_id"] == application_id
                ]

            async def unproven() -> list[str]:
                listed = await asyncio.to_thread(ops, settings, "dlq", "list", "--json")
                return [
                    row["reason"]
                    for row in orjson.loads(listed.stdout)
                    if row["reason"].startswith("unproven status event")
                ]

            await eventually(lambda: len(reached(real)) >= 2, timeout=60)  # signed: it reaches
            async with asyncio.timeout(30):
                while len(letters := await unproven()) < 3:
                    await asyncio.sleep(1)
            assert sorted(letters) == sorted(
                [
                    "unproven status event: not signed by OneThing",
                    "unproven status event: OneThing's signature does not match",
                    "unproven status event: OneThing's signature does not match",
                ]
            )
            assert reached(victim) == []


def test_setup_acls_prints_them_where_the_broker_keeps_none(settings: Settings) -> None:
    made = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli.main", "setup", "--acls"],
        env={**os.environ, **settings.env(), "COLUMNS": "250"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert "the broker keeps no ACLs" in made.stdout
    lines = [line.split() for line in made.stdout.splitlines()]
    assert ["User:dept-amr", "Read", "Topic", "dept.amr.tasks"] in lines
    assert ["User:dept-amr", "Write", "Topic", "dept.results"] in lines
    assert not [
        line for line in lines if line[:1] == ["User:dept-amr"] and "dept.tax.tasks" in line
    ]
