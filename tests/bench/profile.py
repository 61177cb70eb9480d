"""Where the CPU goes: py-spy records OneThing's processes during a bench step.

Usage: python -m tests.bench.profile [drain|opening|intake] [N]
Starts a deployment as the bench does, runs one step with py-spy recording the worker, the
bridge, the adapters and the API, and prints each process's top functions by CPU (own time,
and time with what they call), from py-spy's collapsed stacks kept in tests/bench/results/.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from pathlib import Path

from temporalio.client import Client

from infra.settings import Settings
from infra.supervisor import Supervisor
from orchestrator.client import connect
from tests.bench import drain, intake, throughput
from tests.bench.bare import bare_worker
from tests.bench.department import bench_deployment

PROFILED = ("worker", "bridge", "departments", "api")
OUT = Path(__file__).parent / "results" / "profiles"
TOP = 12


def top(collapsed: Path) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """(own, inclusive) shares of samples per function, highest first."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [
            f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0] + ")" if " (" in f else f
            for f in stack.split(";")
        ]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count

    def share(counted: Counter[str]) -> list[tuple[str, float]]:
        return [(f, round(100 * n / total, 1)) for f, n in counted.most_common(TOP)]

    return share(own), share(inclusive)


async def run_step(step: str, n: int, settings: Settings) -> None:
    client = await connect(settings)
    bare = await Client.connect(settings.temporal)
    with bare_worker(settings):
        if step == "drain":
            await drain.onething(n, settings, client, {})
        elif step == "opening":
            await throughput.opening(n, settings, client, bare, {})
        else:
            await intake.intake(n, settings, client, bare)


def main() -> None:
    step = sys.argv[1] if len(sys.argv) > 1 else "drain"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    OUT.mkdir(parents=True, exist_ok=True)
    with bench_deployment("onething-profile-") as deployment:
        settings = deployment.settings
        supervisor = Supervisor(settings.state_dir)
        spies = {
            name: subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "--pid",
                    str(pid),
                    "--format",
                    "raw",
                    "--rate",
                    "50",
                    "--nonblocking",
                    "--output",
                    str(OUT / f"{step}-{name}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name in PROFILED
            if (pid := supervisor.pid(name)) is not None
        }
        asyncio.run(run_step(step, n, settings))
        for spy in spies.values():
            spy.send_signal(2)
            spy.wait(60)
    for name in spies:
        own, inclusive = top(OUT / f"{step}-{name}.txt")
        print(f"\n## {name}: own time")
        for function, percent in own:
            print(f"{percent:5.1f} %  {function}")
        print(f"## {name}: with what it calls")
        for function, percent in inclusive:
            print(f"{percent:5.1f} %  {function}")


if __name__ == "__main__":
    main()
