"""Prometheus metrics from the API, the worker and the bridge."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from infra.settings import Settings
from orchestrator.cli.demo import example
from tests.e2e.helpers import bridge_fates, finished, submit

pytestmark = pytest.mark.stack


def samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
    }


async def test_api_worker_and_bridge_expose_prometheus_metrics(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    await finished(http, await submit(http, example("retirement")))
    assert (await http.get("/metrics")).status_code == 404  # not on the public port

    async def api_metrics() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        async with httpx.AsyncClient() as client:
            page = await client.get(f"http://{settings.host}:{settings.api_metrics_port}/metrics")
        return samples(page.text)

    approved = ("onething_applications", (("status", "approved"),))
    async with asyncio.timeout(10 + 3 * settings.metrics_refresh_seconds):
        while (api := await api_metrics()).get(approved, 0) < 1:  # gathered, not per scrape
            await asyncio.sleep(0.5)
    assert ("onething_applications", (("status", "withdrawn"),)) in api
    assert ("onething_dlq_messages", ()) in api
    lags = {labels for name, labels in api if name == "onething_consumer_lag"}
    assert (("group", settings.departments_group), ("topic", "dept.hrss.tasks")) in lags

    async with httpx.AsyncClient() as client:
        worker = await client.get(f"http://{settings.host}:{settings.worker_metrics_port}/metrics")
        bridge = await client.get(f"http://{settings.host}:{settings.bridge_port}/metrics")
    durations = [
        dict(labels)
        for (name, labels), value in samples(worker.text).items()
        if name.startswith("onething_task_duration") and name.endswith("_count") and value
    ]
    assert {"hrss", "nhsa"} <= {d["department"] for d in durations}
    assert "temporal_workflow_completed" in worker.text  # the SDK's own metrics beside ours
    assert bridge_fates(bridge.text)["applied"] >= 3

    async with httpx.AsyncClient() as client:
        adapters = await client.get(
            f"http://{settings.host}:{settings.departments_health_port}/metrics"
        )
    calls = samples(adapters.text)
    assert calls[("onething_department_calls_total", (("department", "hrss"), ("status", "200")))]
    assert ("onething_department_call_seconds_count", (("department", "hrss"),)) in calls
    closed = (("department", "hrss"), ("state", "closed"))
    assert calls[("onething_department_breaker", closed)] == 1.0
