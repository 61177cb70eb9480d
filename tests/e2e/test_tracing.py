"""One application, one trace: intake → workflow → Kafka → department → bridge → workflow,
exported by every process to an OTLP collector the test runs itself."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path

import pytest
import uvicorn
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from infra.services import Deployment
from infra.supervisor import free_port
from orchestrator.cli.demo import example
from tests.conftest import portal_client, stack_settings
from tests.e2e.helpers import finished, submit

pytestmark = pytest.mark.stack
SERVICES = {"onething-api", "onething-worker", "onething-departments", "onething-bridge"}


class Collector:
    """An OTLP/HTTP trace receiver: (service, span name) by trace id."""

    def __init__(self) -> None:
        self.traces: dict[str, set[tuple[str, str]]] = defaultdict(set)

    async def receive(self, request: Request) -> Response:
        export = ExportTraceServiceRequest.FromString(await request.body())
        for resource_spans in export.resource_spans:
            service = next(
                a.value.string_value
                for a in resource_spans.resource.attributes
                if a.key == "service.name"
            )
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    self.traces[span.trace_id.hex()].add((service, span.name))
        body = ExportTraceServiceResponse().SerializeToString()
        return Response(body, media_type="application/x-protobuf")

    def trace_of(self, span_name: str) -> set[tuple[str, str]]:
        return next((t for t in self.traces.values() if any(n == span_name for _, n in t)), set())


async def test_one_application_is_one_trace_across_every_process(tmp_path: Path) -> None:
    collector, port = Collector(), free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/v1/traces", collector.receive, methods=["POST"])]),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    serving = asyncio.create_task(server.serve())
    settings = stack_settings(tmp_path, otlp_endpoint=f"http://127.0.0.1:{port}")
    deployment = Deployment(settings)
    try:
        await asyncio.to_thread(deployment.up)
        async with portal_client(settings, timeout=30) as http:
            progress = await finished(http, await submit(http, example("retirement")))
        assert progress.status.value == "approved", progress.reason
        async with asyncio.timeout(30):
            while {s for s, _ in collector.trace_of("POST /v1/applications")} < SERVICES:
                await asyncio.sleep(0.5)
        spans = collector.trace_of("POST /v1/applications")
        names = {name for _, name in spans}
        assert "StartWorkflow:OneThingWorkflow" in names
        assert "RunWorkflow:OneThingWorkflow" in names
        assert {n for n in names if n.startswith("dept.") and n.endswith(".tasks process")}
        assert "dept.results apply" in names
        assert any(s == "onething-departments" and n.startswith("POST") for s, n in spans)
    finally:
        await asyncio.to_thread(deployment.down)
        server.should_exit = True
        await serving
