"""The one composition root: each process of the deployment, built from `Settings`.

`onething <service>` comes here; so does anything that needs a whole process (the OpenAPI
document needs the API's app).
"""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from infra import secrets_check, tracing
from infra.logging import configure
from infra.settings import Settings
from infra.signing_keys import Purpose


def _loaded() -> None:
    """Leave what the process has loaded out of every garbage collection from now on.

    A full collection walks every object the process holds, the imported code's included:
    in the worker it paused everything for 86 ms, and a dispatch waiting behind it took 120
    to 140 ms to send its command (the unloaded p99); with the code frozen, 13 ms."""
    gc.freeze()


SIGNS: dict[str, tuple[Purpose, ...]] = {  # what each process signs, so must hold a key for
    "worker": ("command", "status", "audit", "licence"),
    "bridge": ("audit", "request"),
    "API": ("status", "audit", "request"),
}


def _unsigned(settings: Settings, process: str) -> list[str]:
    """The purposes `process` signs for which these settings hold no key."""
    return [
        f"no {purpose} signing key (ONETHING_{purpose.upper()}_SIGNING_KEYS)"
        for purpose in SIGNS.get(process, ())
        if settings.signer(purpose) is None
    ]


def _closed(settings: Settings, process: str, *problems: str) -> dict[str, str]:
    """Refuse to start with what is not a secret (and the process's own `problems`), unless
    `insecure_open` says so: then the log context that makes every log line say so."""
    found = [*problems, *secrets_check.problems(settings)]
    if not found:  # the keys are real: does it hold those it signs with?
        found = _unsigned(settings, process)
    if not found:
        return {}
    if not settings.insecure_open:
        raise SystemExit(
            f"the {process} does not start: {'; '.join(found)}. Give each a real key "
            "(`onething up` makes a key set in the state directory), or set "
            "ONETHING_INSECURE_OPEN=true on a developer's machine"
        )
    return {"insecure_open": "; ".join(found)}


def _serve(main: Callable[..., Awaitable[None]], settings: Settings, **log_context: str) -> None:
    """Run one service coroutine function until SIGTERM or SIGINT."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await main(settings, stop=stop)

    configure(**log_context)
    _loaded()
    asyncio.run(runner())


def _serve_http(asgi: Any, settings: Settings, port: int, **log_context: str) -> None:
    import uvicorn

    configure(**log_context)
    _loaded()
    uvicorn.run(
        asgi,
        host=settings.host,
        port=port,
        log_level="warning",
        log_config=None,
        timeout_keep_alive=settings.http_keep_alive_s,
    )


def serve_worker(settings: Settings) -> None:
    insecure = _closed(settings, "worker")
    from orchestrator.worker import run_worker

    tracing.configure(settings, "worker")
    _serve(run_worker, settings, **insecure)


def serve_departments(settings: Settings) -> None:
    insecure = _closed(settings, "departments process")
    from adapters.departments import run_departments

    tracing.configure(settings, "departments")
    tracing.instrument_http_clients()
    _serve(run_departments, settings, **insecure)


def serve_simulators(settings: Settings) -> None:
    from adapters.simulation.service import create_simulators_app
    from one_things import load_catalogue

    catalogue = load_catalogue(settings.catalogue_dir)
    _serve_http(create_simulators_app(settings, catalogue), settings, settings.simulators_port)


def serve_simulator(settings: Settings, department: str, port: int, db: Path) -> None:
    from adapters.simulation.service import simulated_department_app
    from one_things import load_catalogue

    catalogue = load_catalogue(settings.catalogue_dir)
    _serve_http(simulated_department_app(department, settings, catalogue, db), settings, port)


def serve_bridge(settings: Settings) -> None:
    insecure = _closed(settings, "bridge")
    from orchestrator.bridge.app import run_bridge

    configure(**insecure)
    tracing.configure(settings, "bridge")
    _loaded()
    run_bridge(settings)


def serve_api(settings: Settings) -> None:
    """Serve the API, closed: without keys (or with anything that is not a secret) it does not
    start, unless `insecure_open` says so, and then every log line says so too; nor with a
    department key bound to a department the catalogue does not know."""
    insecure = _closed(settings, "API", *settings.open_problems())
    from orchestrator.api.app import create_app
    from orchestrator.api.auth import UnknownKeyDepartment

    tracing.configure(settings, "api")
    try:
        app = create_app(settings)
    except UnknownKeyDepartment as exc:
        raise SystemExit(f"the API does not start: {exc}") from exc
    tracing.instrument_app(app)
    _serve_http(app, settings, settings.api_port, **insecure)


def openapi_document(settings: Settings) -> dict[str, Any]:
    from orchestrator.api.app import create_app

    return create_app(settings).openapi()
