"""`make bench-scale`: enterprise openings through the API with one and with two of every
process (the second API taking half the submissions), on one machine, medians of rounds.

Usage: python -m tests.bench.scale [ROUNDS] [N]
On one machine a second replica adds no cores: this shows that replicas share the work
correctly and what running two costs, not how a cluster scales.
"""

from __future__ import annotations

import asyncio
import statistics
import sys

from infra.settings import Settings
from orchestrator.client import connect
from orchestrator.workflow.models import Progress
from tests.bench.department import bench_deployment
from tests.bench.measure import rate
from tests.bench.throughput import OPENING
from tests.conftest import portal_client


async def openings(n: int, apis: list[Settings]) -> float:
    """N openings at once, spread over the APIs; applications ended per second."""
    client = await connect(apis[0])
    portals = [portal_client(s, timeout=120) for s in apis]

    async def one(i: int) -> None:
        response = await portals[i % len(portals)].post("/v1/applications", json=OPENING)
        assert response.status_code == 201, response.text
        handle = client.get_workflow_handle(response.json()["id"], result_type=Progress)
        assert (await handle.result()).status.value == "approved"

    try:
        await rate(10, one)
        return (await rate(n, one))["per_s"]
    finally:
        for http in portals:
            await http.aclose()


def one_round(replicas: int, n: int) -> float:
    with bench_deployment("onething-scale-", replicas) as deployment:
        return asyncio.run(openings(n, [deployment.settings, *deployment.replicas]))


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    figures = {replicas: [one_round(replicas, n) for _ in range(rounds)] for replicas in (1, 2)}
    print("| processes | enterprise openings through the API (apps/s, median) | rounds |")
    print("| --- | --- | --- |")
    for replicas, rates in figures.items():
        print(f"| {replicas} of each | {statistics.median(rates)} | {rates} |")


if __name__ == "__main__":
    main()
