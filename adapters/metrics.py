"""What the adapters measure, on the departments process's `/metrics` (Prometheus): calls to
each department's system by HTTP status (or `unreachable`), their latency, retries, and each
circuit breaker's state."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from adapters.breaker import CircuitBreaker

REGISTRY = CollectorRegistry(auto_describe=True)
CALLS = Counter(
    "onething_department_calls",
    "Calls to department systems, by department and HTTP status (or unreachable).",
    ["department", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "onething_department_call_seconds",
    "How long a department system took to answer one call.",
    ["department"],
    registry=REGISTRY,
)
RETRIES = Counter(
    "onething_department_retries",
    "Calls made again after a time-out, a transport error, 408, 429 or 5xx.",
    ["department"],
    registry=REGISTRY,
)
STATES = ("closed", "half-open", "open")


class Breakers(Collector):
    """Each breaker's state when scraped: 1 for its state, 0 for the others."""

    def __init__(self) -> None:
        self.watched: dict[str, CircuitBreaker] = {}

    def collect(self) -> Iterable[Metric]:
        gauge = GaugeMetricFamily(
            "onething_department_breaker",
            "Circuit breaker state by department (1 for the state it is in).",
            labels=["department", "state"],
        )
        for department, breaker in sorted(self.watched.items()):
            for state in STATES:
                gauge.add_metric([department, state], float(breaker.state == state))
        yield gauge


BREAKERS = Breakers()
REGISTRY.register(BREAKERS)


def exposition() -> bytes:
    return generate_latest(REGISTRY)
