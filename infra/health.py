"""Is a process alive, and ready? Served over HTTP for `onething up` and Kubernetes probes.

`/livez` answers 200 while the process's event loop runs. `/readyz` answers 200 once every
check of the process passes (Temporal reachable, the broker reachable, its consumer given
partitions) and 503 naming each failing check otherwise; each check has two seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiokafka import AIOKafkaConsumer
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from temporalio.client import Client

CHECK_SECONDS = 2.0
Check = Callable[[], Awaitable[str | None]]  # None when fine, else what is wrong


class Health:
    """The readiness checks of one process."""

    def __init__(self, **checks: Check) -> None:
        self._checks = dict(checks)

    def add(self, name: str, check: Check) -> None:
        self._checks[name] = check

    async def readiness(self) -> dict[str, str]:
        """Each check's verdict: "ok", or what is wrong (nothing to check: still starting)."""
        if not self._checks:
            return {"started": "the process is starting"}
        verdicts = {}
        for name, check in self._checks.items():
            try:
                async with asyncio.timeout(CHECK_SECONDS):
                    verdicts[name] = await check() or "ok"
            except Exception as exc:  # a check that cannot tell is a failing check
                verdicts[name] = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return verdicts

    async def livez(self, _: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(self, _: Request) -> Response:
        verdicts = await self.readiness()
        ready = all(v == "ok" for v in verdicts.values())
        return JSONResponse({"ready": ready, "checks": verdicts}, status_code=200 if ready else 503)

    def routes(self) -> list[Route]:
        return [Route("/livez", self.livez), Route("/readyz", self.readyz)]

    async def serve(self, host: str, port: int, *more: Route) -> None:
        """Serve `/livez` and `/readyz` (and `more` routes) on a port of their own, until
        cancelled."""
        import uvicorn
        from starlette.applications import Starlette

        app = Starlette(routes=[*self.routes(), *more])
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        await uvicorn.Server(config).serve()


def temporal_reachable(client: Client) -> Check:
    async def check() -> str | None:
        healthy = await client.service_client.check_health(timeout=timedelta(seconds=1))
        return None if healthy else "Temporal answers that it is not serving"

    return check


def kafka_reachable(metadata: Callable[[], Awaitable[object]]) -> Check:
    """The broker answers a metadata request (`metadata`: a client's `fetch_all_metadata`)."""

    async def check() -> str | None:
        await metadata()
        return None

    return check


def consumer_assigned(consumer: AIOKafkaConsumer) -> Check:
    async def check() -> str | None:
        return None if consumer.assignment() else "the consumer has no partitions"

    return check
