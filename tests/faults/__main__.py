"""`make faults`: every fault scenario with N applications in flight, one table.

Usage: python -m tests.faults [N] [OUTAGE_SECONDS] [SCENARIO ...]
"""

from __future__ import annotations

import asyncio
import json
import sys

from rich.console import Console
from rich.table import Table

from tests.faults.harness import Outcome
from tests.faults.scenarios import SCENARIOS


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    outage = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
    chosen = sys.argv[3:] or list(SCENARIOS)
    outcomes: list[Outcome] = []
    console = Console(width=200)
    for name in chosen:
        console.print(f"[bold]{name}[/bold] with {n} applications in flight…")
        outage_here = outage * 2 if name == "temporal" else outage
        outcomes.append(asyncio.run(SCENARIOS[name](n, outage_here)))
        for note in outcomes[-1].notes[:5]:
            console.print(f"  {note}")
    rows = [o.row() for o in outcomes]
    table = Table(*rows[0], title=f"faults, N = {n}")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)
    print(json.dumps(rows, ensure_ascii=False))
    return 0 if all(o.clean for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
