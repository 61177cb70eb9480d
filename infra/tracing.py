"""Traces across the whole path, with OpenTelemetry: the intake's HTTP request, the workflow and
its activities (`temporalio.contrib.opentelemetry`), every Kafka message (W3C `traceparent` as
a CloudEvents extension attribute), the adapters and their HTTP calls to departments, and the
bridge. One application is one trace. Exported by OTLP over HTTP to `ONETHING_OTLP_ENDPOINT`;
without it nothing of OpenTelemetry is even imported.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from infra.settings import Settings

_tracer: Any = None


def configure(settings: Settings, service: str) -> None:
    """Export this process's spans as `onething-<service>`, if an endpoint is set."""
    global _tracer
    if settings.otlp_endpoint is None:
        return
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": f"onething-{service}"}))
    exporter = OTLPSpanExporter(endpoint=f"{settings.otlp_endpoint.rstrip('/')}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=1000))
    trace.set_tracer_provider(provider)
    _tracer = trace.get_tracer("onething")


def enabled() -> bool:
    return _tracer is not None


def interceptors() -> list[Any]:
    """Temporal client (and so worker) interceptors: spans for workflows and activities."""
    if not enabled():
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]


def traceparent() -> str | None:
    """The current span as a W3C `traceparent`, for the envelope of a message sent now."""
    if not enabled():
        return None
    from opentelemetry.propagate import inject

    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def consuming(parent: str | None, name: str, **attributes: str) -> Iterator[None]:
    """A span for handling one consumed message, continuing the trace it came with."""
    if not enabled():
        yield
        return
    from opentelemetry.propagate import extract
    from opentelemetry.trace import SpanKind

    context = extract({"traceparent": parent} if parent else {})
    with _tracer.start_as_current_span(
        name, context=context, kind=SpanKind.CONSUMER, attributes=attributes
    ):
        yield


def instrument_app(app: Any) -> None:
    """Spans for every request of a FastAPI app, continuing a caller's `traceparent`."""
    if enabled():
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app)


def instrument_http_clients() -> None:
    """Spans for every httpx call, with `traceparent` sent to the department's system."""
    if enabled():
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument()
