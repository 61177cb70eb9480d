"""Is a process alive, and ready? Served over HTTP for `onething up` and Kubernetes probes.

`/livez` answers 200 while the process's event loop runs. `/readyz` answers 200 once every
check of the process passes (Temporal reachable, the broker reachable, its consumer given
partitions) and 503 naming each failing check otherwise; each check has two seconds.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import orjson
from aiokafka import AIOKafkaConsumer
from temporalio.client import Client

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

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

    async def answer(self) -> tuple[int, dict[str, object]]:
        """`/readyz`'s status and body."""
        verdicts = await self.readiness()
        ready = all(v == "ok" for v in verdicts.values())
        return (200 if ready else 503), {"ready": ready, "checks": verdicts}

    def routes(self) -> list[Route]:
        """`/livez` and `/readyz` for a Starlette or FastAPI app the process already serves."""
        from starlette.responses import JSONResponse, PlainTextResponse
        from starlette.routing import Route

        async def livez(_: Request) -> Response:
            return PlainTextResponse("ok")

        async def readyz(_: Request) -> Response:
            status, body = await self.answer()
            return JSONResponse(body, status_code=status)

        return [Route("/livez", livez), Route("/readyz", readyz)]

    async def serve(
        self, host: str, port: int, pages: dict[str, Callable[[], bytes]] | None = None
    ) -> None:
        """Serve `/livez`, `/readyz` (and `pages`: path -> body) on a port of their own until
        cancelled, with the standard library's HTTP server in a thread: a worker or the
        departments load no web framework for it (uvicorn and Starlette weigh 17 MiB)."""
        server = ThreadingHTTPServer(
            (host, port), _handler(self, asyncio.get_running_loop(), pages)
        )
        threading.Thread(target=server.serve_forever, daemon=True, name="health").start()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.to_thread(server.shutdown)
            server.server_close()


def _handler(
    health: Health,
    loop: asyncio.AbstractEventLoop,
    pages: dict[str, Callable[[], bytes]] | None,
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, kind, body = 404, "text/plain", b"not found"
            if self.path == "/livez":
                status, body = 200, b"ok"
            elif self.path == "/readyz":
                answering = asyncio.run_coroutine_threadsafe(health.answer(), loop)
                status, document = answering.result(timeout=4 * CHECK_SECONDS)
                kind, body = "application/json", orjson.dumps(document)
            elif pages and self.path in pages:
                status, kind, body = 200, "text/plain; version=0.0.4", pages[self.path]()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return  # probes every few seconds: not worth a log line each

    return Handler


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
