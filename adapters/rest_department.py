"""A simulated department system behind HTTP, with its records in SQLite.

The same simulator rules as `adapters.simulator`; a repeated idempotency key returns the
recorded answer and creates nothing. `slow_answer` makes it answer late *after* doing the
work, as a real system does when its reply times out.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import FastAPI, Header, HTTPException

from adapters.simulator import SimulatedDepartment
from events.contracts import TaskCommand
from one_things.loader import Catalogue


def create_department_app(
    department: str, catalogue: Catalogue, db: Path, latency: float = 0.0, slow_answer: float = 0.0
) -> FastAPI:
    simulator = SimulatedDepartment(department, catalogue, latency)
    records = sqlite3.connect(db, check_same_thread=False)
    records.execute("create table if not exists records (key text primary key, answer blob)")
    app = FastAPI(title=f"{department} department (simulated)")

    @app.post("/tasks/{action}")
    async def task(
        action: str, command: dict[str, Any], idempotency_key: Annotated[str, Header()]
    ) -> dict[str, Any]:
        row = records.execute("select answer from records where key = ?", (idempotency_key,))
        if (found := row.fetchone()) is not None:
            return dict(orjson.loads(found[0]))
        parsed = TaskCommand.model_validate({**command, "reply_token": "http"})
        if parsed.idempotency_key != idempotency_key or parsed.action.value != action:
            raise HTTPException(400, "the Idempotency-Key or action does not match the command")
        result = await simulator.handle(parsed)
        if result is None:
            raise HTTPException(503, "no answer now")
        recorded = {
            "outcome": result.outcome.value,
            "outputs": result.outputs,
            "reason": result.reason,
            "supplement_fields": result.supplement_fields,
            "reference": result.department_reference,
        }
        records.execute(
            "insert into records values (?, ?)", (idempotency_key, orjson.dumps(recorded))
        )
        records.commit()
        await asyncio.sleep(slow_answer)
        return recorded

    @app.get("/records")
    async def count() -> dict[str, int]:
        return {"records": records.execute("select count(*) from records").fetchone()[0]}

    return app
