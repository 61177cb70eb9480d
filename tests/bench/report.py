"""The bench's output: medians over rounds, each OneThing figure beside its bare twin of the
same round, as one JSON document, a Markdown table and PNG charts.

`python -m tests.bench.report DIR` writes them again from the rounds kept in DIR/bench.json."""

from __future__ import annotations

import json
import platform
import statistics
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any, NamedTuple

Round = dict[str, Any]
PACKAGES = ("temporalio", "aiokafka", "faust-streaming", "pydantic", "fastapi", "noida-db")
PROCESSES = ("worker", "bridge", "departments")  # what the memory goal adds up
WORKER_MEMORY_GOAL = 1.2  # × bare's


def dig(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data[part]
    return data


def over_rounds(rounds: list[Round], figure: Callable[[Round], float]) -> float:
    """The median of a figure taken in each round."""
    return round(statistics.median(figure(r) for r in rounds), 2)


def median(rounds: list[Round], path: str) -> float:
    return over_rounds(rounds, lambda r: float(dig(r, path)))


def ratio(rounds: list[Round], ours: str, bare: str) -> float:
    """The median of the per-round ratios: each pair from the same round."""
    return over_rounds(rounds, lambda r: float(dig(r, ours)) / float(dig(r, bare)))


def measured(rounds: list[Round], path: str) -> bool:
    """Whether every round has the figure (rounds kept from older benches may not)."""
    try:
        for r in rounds:
            dig(r, path)
    except KeyError:
        return False
    return True


def peak(samples: list[dict[str, float]], names: tuple[str, ...]) -> float:
    return max(sum(s.get(n, 0.0) for n in names) for s in samples)


def worker_peaks(rounds: list[Round], side: str) -> list[float]:
    """The worker's most resident MiB in each round's drain, while all waited."""
    return [peak(r["drain"][side]["memory"], ("worker",)) for r in rounds]


def worker_at_start(rounds: list[Round], side: str) -> float:
    """The worker's resident MiB before the drain's first run was started (median)."""
    return statistics.median(r["drain"][side]["memory"][0]["worker"] for r in rounds)


class Pair(NamedTuple):
    """A OneThing figure and its bare twin: where each sits in a round, and the goal."""

    label: str
    short: str  # on the throughput chart
    ours: str
    bare: str
    goal: str = "–"


THROUGHPUT = (
    Pair(
        "enterprise openings at once, full path (apps/s)",
        "full path",
        "opening.full_path.per_s",
        "opening.bare.per_s",
        "≥ 0.9",
    ),
    Pair(
        "enterprise openings at once, through the API (apps/s)",
        "via API",
        "opening.via_api.per_s",
        "opening.bare.per_s",
        "≥ 0.85",
    ),
    Pair(
        "submissions, 32 at a time (/s)",
        "intake",
        "intake.via_api.per_s",
        "intake.bare.per_s",
        "≥ 0.9",
    ),
    Pair(
        "drain: waiting applications ended (/s)",
        "drain",
        "drain.onething.ended_per_s",
        "drain.bare.ended_per_s",
        "≥ 0.9",
    ),
)


def by_tasks(tasks: str) -> tuple[Pair, Pair]:
    """The rate and the Temporal actions of plans of `tasks` tasks."""
    base = f"by_tasks.{tasks}"
    return (
        Pair(
            f"{tasks} tasks per application (apps/s)",
            f"{tasks} tasks",
            f"{base}.full_path.per_s",
            f"{base}.bare.per_s",
        ),
        Pair(
            f"{tasks} tasks: Temporal actions per application",
            f"{tasks} tasks",
            f"{base}.actions.total",
            f"{base}.bare_actions.total",
        ),
    )


def row(rounds: list[Round], pair: Pair) -> tuple[str, str, str, str, str]:
    return (
        pair.label,
        str(median(rounds, pair.ours)),
        str(median(rounds, pair.bare)),
        str(ratio(rounds, pair.ours, pair.bare)),
        pair.goal,
    )


def rows(rounds: list[Round]) -> list[tuple[str, str, str, str, str]]:
    """(figure, OneThing, bare, ratio, goal) for the Markdown table."""
    out = [row(rounds, pair) for pair in THROUGHPUT]
    worker = worker_peaks(rounds, "onething")
    bare_worker = worker_peaks(rounds, "bare")
    together = [peak(r["drain"]["onething"]["memory"], PROCESSES) for r in rounds]
    out.append(
        (
            "worker memory with all waiting (MiB)",
            str(statistics.median(worker)),
            str(statistics.median(bare_worker)),
            f"{statistics.median(w / b for w, b in zip(worker, bare_worker, strict=True)):.2f}×",
            f"≤ {WORKER_MEMORY_GOAL}×",
        )
    )
    out.append(
        (
            "worker + bridge + adapters, all waiting (MiB)",
            f"{statistics.median(together):.1f}",
            "–",
            "–",
            "≤ 512 at 10,000",
        )
    )
    for tasks in rounds[0]["by_tasks"]:
        out += [row(rounds, pair) for pair in by_tasks(tasks)]
    out.append(
        (
            "completion ÷ critical path (6 tasks, 0.25 s each)",
            str(median(rounds, "critical_path.ratio")),
            "–",
            "–",
            "–",
        )
    )
    return out


def hop_rows(rounds: list[Round]) -> list[tuple[str, str, str]]:
    out = []
    for side in ("onething", "bare"):
        for hop in rounds[0]["hops"][side]:
            out.append(
                (
                    f"{side}: {hop.replace('_', ' ')}",
                    str(median(rounds, f"hops.{side}.{hop}.p50_ms")),
                    str(median(rounds, f"hops.{side}.{hop}.p99_ms")),
                )
            )
    return out


VARIANTS = ("full_path", "via_api", "bare")


def cpu_rows(rounds: list[Round]) -> list[tuple[str, ...]]:
    """CPU milliseconds per enterprise opening by process, for each variant; then the sum."""
    processes = list(rounds[0]["opening"]["bare"]["cpu_ms"])
    out = [
        (name, *(str(median(rounds, f"opening.{v}.cpu_ms.{name}")) for v in VARIANTS))
        for name in processes
    ]
    totals = (
        statistics.median(sum(r["opening"][v]["cpu_ms"].values()) for r in rounds) for v in VARIANTS
    )
    return [*out, ("all of them", *(f"{t:.1f}" for t in totals))]


def drain_cpu_rows(rounds: list[Round]) -> list[tuple[str, ...]]:
    """CPU milliseconds per drained application by process, ours and bare; then the sum."""
    sides = ("onething", "bare")
    if not all(measured(rounds, f"drain.{side}.cpu_ms") for side in sides):
        return []  # rounds measured before the drain's CPU was
    processes = list(rounds[0]["drain"]["bare"]["cpu_ms"])
    out = [
        (name, *(str(median(rounds, f"drain.{side}.cpu_ms.{name}")) for side in sides))
        for name in processes
    ]
    totals = (
        statistics.median(sum(r["drain"][side]["cpu_ms"].values()) for r in rounds)
        for side in sides
    )
    return [*out, ("all of them", *(f"{t:.1f}" for t in totals))]


class Floor(NamedTuple):
    """A throughput goal read against the CPU each side spent on one application."""

    pair: Pair
    ours: str  # where ours' CPU ms per application, by process, sit in a round
    bare: str

    @property
    def goal(self) -> float:
        return float(self.pair.goal.removeprefix("≥ "))


FLOORS = (
    Floor(THROUGHPUT[0], "opening.full_path.cpu_ms", "opening.bare.cpu_ms"),
    Floor(THROUGHPUT[1], "opening.via_api.cpu_ms", "opening.bare.cpu_ms"),
    Floor(THROUGHPUT[3], "drain.onething.cpu_ms", "drain.bare.cpu_ms"),
)


def cpu_ms(r: Round, path: str) -> dict[str, float]:
    """CPU milliseconds per application, by process, where `path` puts them in a round."""
    spent: dict[str, float] = dig(r, path)
    return spent


def floor_row(rounds: list[Round], floor: Floor) -> tuple[str, ...]:
    """The measured ratio beside what the CPU tables predict of it: with every process on the
    same cores (bare's CPU in all ÷ ours), and with each on cores of its own (bare's busiest
    process ÷ ours'); then the most ours may cost for the goal, and what it costs with and
    without its worker."""

    def ours(r: Round) -> dict[str, float]:
        return cpu_ms(r, floor.ours)

    def bare(r: Round) -> dict[str, float]:
        return cpu_ms(r, floor.bare)

    return (
        f"{floor.pair.short} ({floor.pair.goal})",
        str(ratio(rounds, floor.pair.ours, floor.pair.bare)),
        str(over_rounds(rounds, lambda r: sum(bare(r).values()) / sum(ours(r).values()))),
        str(over_rounds(rounds, lambda r: max(bare(r).values()) / max(ours(r).values()))),
        f"{over_rounds(rounds, lambda r: sum(bare(r).values()) / floor.goal):.1f}",
        f"{over_rounds(rounds, lambda r: sum(ours(r).values()) - ours(r)['worker']):.1f}",
        f"{over_rounds(rounds, lambda r: sum(ours(r).values())):.1f}",
    )


FLOOR_COLUMNS = (
    "figure",
    "measured",
    "predicted_shared_cores",
    "predicted_own_cores",
    "most_cpu_ms_for_goal",
    "cpu_ms_without_worker",
    "cpu_ms",
)


def floor_rows(rounds: list[Round]) -> list[tuple[str, ...]]:
    """A row for each goal whose CPU the rounds measured (the drain's was not, at first)."""
    return [floor_row(rounds, f) for f in FLOORS if measured(rounds, f.ours)]


def memory_floor(rounds: list[Round]) -> str:
    """What the worker's memory goal leaves for the runs once ours has loaded its code."""
    waiting = int(rounds[0]["drain"]["onething"]["memory"][-1]["in_flight"])
    start = worker_at_start(rounds, "onething")
    bare = statistics.median(worker_peaks(rounds, "bare"))
    ours = statistics.median(worker_peaks(rounds, "onething"))
    bare_start = worker_at_start(rounds, "bare")
    allowed = bare * WORKER_MEMORY_GOAL

    def kib_a_run(mib: float) -> float:
        return mib * 1024 / waiting

    left = allowed - start
    leaves = (
        f"{left:.1f} MiB, {kib_a_run(left):.0f} KiB a run" if left > 0 else "nothing for the runs"
    )
    return (
        f"Worker memory (≤ {WORKER_MEMORY_GOAL}× of bare's): with {waiting:,} waiting bare's"
        f" held {bare:.1f} MiB, so the goal allows {allowed:.1f}; ours held {start:.1f} before"
        f" the first was started, which leaves {leaves}. A run takes"
        f" {kib_a_run(bare - bare_start):.0f} KiB in bare's worker, {kib_a_run(ours - start):.0f}"
        " in ours."
    )


def broker_lines(rounds: list[Round]) -> list[str]:
    """What the embedded broker kept by the end of each step (each on a fresh deployment)."""
    if any("broker_mib" not in r for r in rounds):
        return []  # rounds measured before each step had a deployment of its own
    kept = ", ".join(
        f"{step.replace('_', ' ')} {median(rounds, f'broker_mib.{step}')}"
        for step in rounds[0]["broker_mib"]
    )
    return [f"The embedded broker's data at the end of each step (MiB): {kept}.", ""]


def markdown(document: dict[str, Any]) -> str:
    rounds = document["rounds"]
    lines = [
        f"# OneThing beside bare Temporal: medians of {len(rounds)} rounds",
        "",
        "| figure | OneThing | bare Temporal | ratio | goal |",
        "| --- | --- | --- | --- | --- |",
        *(f"| {' | '.join(r)} |" for r in rows(rounds)),
        "",
        "Per hop, unloaded (one application at a time):",
        "",
        "| hop | p50 ms | p99 ms |",
        "| --- | --- | --- |",
        *(f"| {' | '.join(r)} |" for r in hop_rows(rounds)),
        "",
        "CPU milliseconds per enterprise opening, by process (all at once, as above):",
        "",
        "| process | full path | through the API | bare Temporal |",
        "| --- | --- | --- | --- |",
        *(f"| {' | '.join(r)} |" for r in cpu_rows(rounds)),
        "",
        "CPU milliseconds per application ended in the drain, by process:",
        "",
        "| process | OneThing | bare Temporal |",
        "| --- | --- | --- |",
        *(f"| {' | '.join(r)} |" for r in drain_cpu_rows(rounds)),
        "",
        *broker_lines(rounds),
        "What the CPU tables predict: on one machine every process shares the same cores, so"
        " the ratio follows the CPU an application costs in all; with each process on cores"
        " of its own the busiest process would set the pace. CPU ms per application:",
        "",
        "| figure (goal) | measured | predicted, shared cores | predicted, own cores"
        " | most ours may cost for the goal | ours without its worker | ours |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *(f"| {' | '.join(r)} |" for r in floor_rows(rounds)),
        "",
        memory_floor(rounds),
        "",
        f"Settings: {json.dumps(document['settings'])}",
        f"Versions: {json.dumps(document['versions'])}",
    ]
    return "\n".join(lines) + "\n"


def charts(document: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds = document["rounds"]
    fig, ax = plt.subplots(figsize=(9, 4))
    pairs = [*THROUGHPUT, *(by_tasks(t)[0] for t in rounds[0]["by_tasks"])]
    labels = [pair.short for pair in pairs]
    ours = [median(rounds, pair.ours) for pair in pairs]
    bare = [median(rounds, pair.bare) for pair in pairs]
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], ours, 0.4, label="OneThing")
    ax.bar([x + 0.2 for x in xs], bare, 0.4, label="bare Temporal")
    ax.set_xticks(list(xs), labels)
    ax.set_ylabel("per second (median)")
    ax.set_title("Throughput by variant")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "throughput.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4))
    hops = hop_rows(rounds)
    ys = range(len(hops))
    ax.barh([y - 0.2 for y in ys], [float(h[1]) for h in hops], 0.4, label="p50")
    ax.barh([y + 0.2 for y in ys], [float(h[2]) for h in hops], 0.4, label="p99")
    ax.set_yticks(list(ys), [h[0] for h in hops])
    ax.set_xlabel("ms")
    ax.set_title("Latency per hop, unloaded")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4))
    last = rounds[-1]["drain"]
    for side, names in (("onething", PROCESSES), ("onething", ("worker",)), ("bare", ("worker",))):
        samples = last[side]["memory"]
        label = f"{side}: {' + '.join(names)}"
        ax.plot(
            [s["in_flight"] for s in samples],
            [peak([s], names) for s in samples],
            "o-",
            label=label,
        )
    ax.set_xlabel("applications in flight")
    ax.set_ylabel("resident MiB")
    ax.set_title("Memory against applications in flight")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "memory.png", dpi=110)
    plt.close(fig)


def installed() -> dict[str, str]:
    """The versions a round ran with."""
    return {
        "python": platform.python_version(),
        **{name: version(name) for name in PACKAGES},
        "machine": f"{platform.machine()}, {platform.node()}",
    }


def write(
    rounds: list[Round], settings: dict[str, Any], versions: dict[str, str], out: Path
) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    document = {
        "rounds": rounds,
        "table": [
            dict(zip(("figure", "onething", "bare", "ratio", "goal"), r, strict=True))
            for r in rows(rounds)
        ],
        "hops": [dict(zip(("hop", "p50_ms", "p99_ms"), r, strict=True)) for r in hop_rows(rounds)],
        "cpu_ms_per_opening": [
            dict(zip(("process", *VARIANTS), r, strict=True)) for r in cpu_rows(rounds)
        ],
        "floors": [dict(zip(FLOOR_COLUMNS, r, strict=True)) for r in floor_rows(rounds)],
        "settings": settings,
        "versions": versions,
    }
    (out / "bench.json").write_text(json.dumps(document, indent=1))
    (out / "bench.md").write_text(markdown(document))
    charts(document, out)
    return document


if __name__ == "__main__":
    import sys

    folder = Path(sys.argv[1])
    kept = json.loads((folder / "bench.json").read_text())
    write(kept["rounds"], kept["settings"], kept["versions"], folder)
