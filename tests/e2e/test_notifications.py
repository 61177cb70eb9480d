"""Each status an application enters reaches the applicant through every channel's webhook,
once; a channel that stays down gets retries, then a dead letter naming it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web

from infra.supervisor import free_port
from orchestrator.cli.demo import example
from tests.e2e.helpers import finished, ops, submit
from tests.faults.harness import deployment, portal


class Receiver:
    """An SMS gateway and an app-push service on this machine: push is down for its first
    two calls, `broken` always."""

    def __init__(self) -> None:
        self.received: dict[str, list[dict[str, Any]]] = {"sms": [], "push": [], "broken": []}
        self.keys: dict[str, list[str]] = {"sms": [], "push": [], "broken": []}
        self.port = free_port()

    async def take(self, request: web.Request) -> web.Response:
        channel = request.match_info["channel"]
        self.received[channel].append(await request.json())
        if channel == "broken" or (channel == "push" and len(self.received["push"]) <= 2):
            return web.Response(status=503 if channel == "push" else 500)
        self.keys[channel].append(request.headers["Idempotency-Key"])
        return web.Response(status=204)

    def url(self, channel: str) -> str:
        return f"http://127.0.0.1:{self.port}/{channel}"


@contextlib.asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/{channel}", receiver.take)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", receiver.port).start()
    try:
        yield receiver
    finally:
        await runner.cleanup()


async def test_each_status_reaches_each_channel_once_and_a_dead_channel_is_dead_lettered() -> None:
    async with receiving() as receiver:
        channels = {name: receiver.url(name) for name in ("sms", "push", "broken")}
        async with deployment(notification_webhooks=channels, notification_attempts=3) as running:
            async with portal(running.settings) as http:
                refused = example("enterprise_opening", bank_branch="横琴已撤销网点")
                app_id = await submit(http, refused)
                assert (await finished(http, app_id)).status.value == "rejected"
            statuses = ["running", "compensating", "rejected"]

            def delivered(channel: str) -> list[str]:
                return [
                    n["status"] for n in receiver.received[channel] if n["application_id"] == app_id
                ]

            async with asyncio.timeout(30):
                while delivered("sms") != statuses or len(receiver.keys["push"]) < 3:
                    await asyncio.sleep(0.2)
            assert len(set(receiver.keys["sms"])) == len(receiver.keys["sms"]) == 3
            assert sorted(n["status"] for n in receiver.received["push"][2:]) == sorted(statuses)
            first = receiver.received["sms"][0]
            assert first["one_thing"] == "enterprise_opening" and len(first["applicant_ref"]) == 32
            assert "compensating" in delivered("sms") and receiver.received["sms"][1]["reason"]
            async with asyncio.timeout(30):
                while len(receiver.received["broken"]) < 9:
                    await asyncio.sleep(0.2)
            letters = await asyncio.to_thread(ops, running.settings, "dlq", "list", "--json")
            reasons = [row["reason"] for row in orjson.loads(letters.stdout)]
            assert reasons.count("notification to broken not delivered: HTTP 500") == 3
