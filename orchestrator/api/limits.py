"""Bodies over a limit are refused with 413 before anything reads them whole."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator.api.problems import PROBLEM_JSON, problem_body

MAX_BODY_BYTES = 256 * 1024  # the largest form of the catalogue is a few KiB


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: `Content-Length` over the limit, or a streamed body growing past it."""

    def __init__(
        self, app: ASGIApp, limit: int = MAX_BODY_BYTES, uploads: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.limit = limit
        self.uploads = uploads or {}  # path -> its own limit (materials)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.uploads.get(scope.get("path", ""), self.limit)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send, limit)
            return
        seen = 0
        started = False

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting, sending)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, send, limit)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        detail = f"the body is larger than {limit} bytes"
        body = problem_body(413, detail, scope.get("path", ""))
        headers = [(b"content-type", PROBLEM_JSON.encode()), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
