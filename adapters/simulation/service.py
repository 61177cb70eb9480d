"""Simulated department systems behind HTTP, each a FastAPI app with its own SQLite records.

`POST /tasks/handle` does the work (202: taken in, no decision yet); `POST /tasks/compensate`
and `/tasks/void` undo it (the record becomes deregistered, cancelled, voided, … as the spec
says). A repeated
`Idempotency-Key` returns the recorded answer and creates nothing. `slow_answer` answers late
*after* doing the work, as a real system does when its reply times out.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Header, HTTPException, Response

from adapters.simulation.batch import BatchDepartment
from adapters.simulation.engine import SimulatedDepartment, SystemDown
from adapters.simulation.records import Records
from adapters.simulation.spec import DepartmentSpec, load_specs
from events.contracts import Outcome, TaskCommand
from infra.health import Health
from infra.settings import Settings
from one_things.loader import Catalogue


def create_department_app(
    simulator: SimulatedDepartment,
    db: Path,
    failure_rate: float = 0.0,
    slow_answer: float = 0.0,
) -> FastAPI:
    records = Records(db)
    app = FastAPI(title=f"{simulator.spec.system} (simulated {simulator.department})")

    @app.post("/tasks/{action}")
    async def task(
        action: str,
        command: dict[str, Any],
        idempotency_key: Annotated[str, Header()],
        response: Response,
    ) -> dict[str, Any]:
        if (recorded := records.answer(idempotency_key)) is not None:
            return recorded
        parsed = TaskCommand.model_validate({**command, "reply_token": "http"})
        if parsed.idempotency_key != idempotency_key or parsed.action.value != action:
            raise HTTPException(400, "the Idempotency-Key or action does not match the command")
        if random.random() < failure_rate:
            raise HTTPException(503, "the department system is unavailable (simulated failure)")
        try:
            result = await simulator.handle(records.with_act(parsed))
        except SystemDown as exc:
            raise HTTPException(503, f"the department system failed: {exc}") from exc
        if result is None:  # taken in; the decision comes later
            response.status_code = 202
            return {"outcome": None, "reason": "accepted, no decision yet"}
        if result.outcome is Outcome.SUPPLEMENT_REQUIRED:  # the case stays open: nothing done yet
            return Records.body(result)
        answer = records.record(parsed, result, simulator.undo_state(parsed))
        await asyncio.sleep(slow_answer)
        return answer

    @app.get("/records")
    async def all_records() -> dict[str, Any]:
        rows = records.all()
        return {"records": len(rows), "items": rows}

    return app


def _simulator(
    spec: DepartmentSpec, settings: Settings, catalogue: Catalogue
) -> SimulatedDepartment:
    latency = settings.latency(spec.department, spec.latency)
    return SimulatedDepartment(spec, catalogue, latency)


def _records_file(department: str, settings: Settings) -> Path:
    return settings.state_dir / "simulators" / f"{department}.sqlite"


def _department_app(
    simulator: SimulatedDepartment, settings: Settings, db: Path | None = None
) -> FastAPI:
    department = simulator.department
    return create_department_app(
        simulator,
        db or _records_file(department, settings),
        settings.sim_failure_rate.get(department, simulator.spec.failure_rate),
    )


def simulated_department_app(
    department: str, settings: Settings, catalogue: Catalogue, db: Path | None = None
) -> FastAPI:
    """One department's simulated system as its spec and the settings say."""
    spec = load_specs(catalogue)[department]
    return _department_app(_simulator(spec, settings, catalogue), settings, db)


def create_simulators_app(settings: Settings, catalogue: Catalogue) -> FastAPI:
    """Every department's simulated system, each mounted at `/{department}`.

    A file-exchange department's system also takes its command files in (`BatchDepartment`).
    """
    simulators = {
        department: _simulator(spec, settings, catalogue)
        for department, spec in load_specs(catalogue).items()
    }

    health = Health()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        batches = [
            asyncio.create_task(
                BatchDepartment(
                    simulators[department], Records(_records_file(department, settings)), folder
                ).run()
            )
            for department, folder in settings.file_departments.items()
        ]
        health.add("serving", _serving)
        yield
        for batch in batches:
            batch.cancel()

    app = FastAPI(title="OneThing department simulators", lifespan=lifespan)
    app.router.routes.extend(health.routes())
    for department, simulator in simulators.items():
        app.mount(f"/{department}", _department_app(simulator, settings))
    return app


async def _serving() -> None:
    return None  # the simulators are ready once their lifespan has started
