"""`onething`: run the stack, the processes, the demo, schema export and operator commands."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from infra.logging import configure
from infra.services import Deployment
from infra.settings import Settings
from infra.supervisor import StackError

if TYPE_CHECKING:
    from pydantic import BaseModel

app = typer.Typer(
    help="OneThing: one application, many departments, in parallel.", no_args_is_help=True
)
stack_app = typer.Typer(help="The embedded Temporal server and Kafka-protocol broker.")
schemas_app = typer.Typer(help="Contracts for departments.")
ops_app = typer.Typer(help="Operator commands.")
app.add_typer(stack_app, name="stack")
app.add_typer(schemas_app, name="schemas")
app.add_typer(ops_app, name="ops")
console = Console()


def _fail(exc: Exception) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(1)


@stack_app.command("up")
def stack_up() -> None:
    """Start the Temporal dev server and the broker, create the topics (no-op if running)."""
    deployment = Deployment(Settings())
    try:
        deployment.stack.up()
    except StackError as exc:
        raise _fail(exc) from exc
    _print_urls(deployment)


@stack_app.command("down")
def stack_down() -> None:
    """Stop the Temporal dev server and the broker."""
    console.print(f"stopped: {', '.join(Deployment(Settings()).stack.down()) or 'nothing'}")


@stack_app.command("status")
def stack_status() -> None:
    """Show what of the stack runs."""
    _print_status(Deployment(Settings()).stack.status())


@app.command("up")
def up() -> None:
    """Start the stack and every process in the background; print the URLs."""
    deployment = Deployment(Settings())
    try:
        deployment.up()
    except StackError as exc:
        raise _fail(exc) from exc
    _print_urls(deployment)


@app.command("down")
def down() -> None:
    """Stop every process and the stack."""
    console.print(f"stopped: {', '.join(Deployment(Settings()).down()) or 'nothing'}")


@app.command("status")
def status() -> None:
    """Show which processes run."""
    _print_status(Deployment(Settings()).status())


def _print_urls(deployment: Deployment) -> None:
    urls = deployment.urls()
    width = max(map(len, urls))
    for what, url in urls.items():
        console.print(f"{what:>{width}}  {url}")


def _print_status(pids: dict[str, int | None]) -> None:
    for name, pid in pids.items():
        console.print(f"{name:>12}  {'running (pid ' + str(pid) + ')' if pid else 'stopped'}")


def _serve(main: Callable[..., Awaitable[None]]) -> None:
    """Run one service coroutine function until SIGTERM or SIGINT."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await main(Settings(), stop=stop)

    configure()
    asyncio.run(runner())


@app.command("worker")
def worker() -> None:
    """Run the Temporal worker (workflows and activities) in the foreground."""
    from orchestrator.worker import run_worker

    _serve(run_worker)


@app.command("departments")
def departments() -> None:
    """Run the department adapters (simulated, REST) in the foreground."""
    from adapters.departments import run_departments

    _serve(run_departments)


@app.command("simulators")
def simulators() -> None:
    """Serve every department's simulated system over HTTP, each at /DEPT."""
    from adapters.simulation.service import create_simulators_app
    from one_things import load_catalogue

    settings = Settings()
    _serve_http(
        create_simulators_app(settings, load_catalogue(settings.catalogue_dir)),
        settings.simulators_port,
    )


@app.command("simulator")
def simulator(
    department: str,
    port: Annotated[int, typer.Option(help="Port to serve on.")],
    db: Annotated[Path, typer.Option(help="SQLite file of its records.")],
) -> None:
    """Serve one department's simulated system over HTTP, as its own service."""
    from adapters.simulation.service import simulated_department_app
    from one_things import load_catalogue

    settings = Settings()
    catalogue = load_catalogue(settings.catalogue_dir)
    _serve_http(simulated_department_app(department, settings, catalogue, db), port)


def _serve_http(asgi: object, port: int) -> None:
    import uvicorn

    configure()
    uvicorn.run(asgi, host=Settings().host, port=port, log_level="warning")  # type: ignore[arg-type]


@app.command("bridge")
def bridge() -> None:
    """Run the results bridge (Faust) in the foreground."""
    from orchestrator.bridge import run_bridge

    configure()
    run_bridge(Settings())


@app.command("api")
def api() -> None:
    """Run the intake API in the foreground."""
    from orchestrator.api import create_app

    settings = Settings()
    _serve_http(create_app(settings), settings.api_port)


@app.command("demo")
def demo(
    one_thing: Annotated[
        list[str] | None,
        typer.Option(
            "--one-thing", help="Run the catalogue's example of this one thing (repeat, or 'all')."
        ),
    ] = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write the final progress documents here.")
    ] = None,
) -> None:
    """Start everything on free ports, submit applications, show them live, stop everything."""
    from one_things import UnknownOneThing, load_catalogue
    from orchestrator.demo import APPLICATIONS, DemoApplication, applications_of, run_demo

    applications: tuple[DemoApplication, ...] = APPLICATIONS
    if one_thing:
        try:
            applications = applications_of(one_thing)
        except UnknownOneThing as exc:
            known = ", ".join(ot.id for ot in load_catalogue())
            raise _fail(LookupError(f"{exc}; the catalogue has: {known}, or all")) from exc
    raise typer.Exit(run_demo(console, json_file, applications))


@schemas_app.command("export")
def schemas_export(directory: Path) -> None:
    """Write a JSON Schema per contract and the AsyncAPI document into DIRECTORY."""
    from events.schemas import export
    from one_things import load_catalogue

    settings = Settings()
    catalogue = load_catalogue(settings.catalogue_dir)
    for path in export(directory, catalogue.departments()):
        console.print(str(path))


@app.command("openapi")
def openapi(file: Path) -> None:
    """Write the intake API's OpenAPI document to FILE (JSON)."""
    import orjson

    from orchestrator.api import create_app

    document = create_app(Settings()).openapi()
    file.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    console.print(f"wrote {file}")


@ops_app.command("history")
def ops_history(application_id: str, file: Path) -> None:
    """Write the workflow history of one application to FILE (JSON), e.g. for replay tests."""
    from orchestrator.temporal import connect

    async def fetch() -> str:
        client = await connect(Settings())
        history = await client.get_workflow_handle(application_id).fetch_history()
        return history.to_json()

    file.write_text(asyncio.run(fetch()))
    console.print(f"wrote {file}")
    _exit_now(0)


dlq_app = typer.Typer(help="The dead-letter topic onething.dlq.")
ops_app.add_typer(dlq_app, name="dlq")


@dlq_app.command("list")
def dlq_list() -> None:
    """List every message that could not be parsed or applied, with the reason."""
    from rich.table import Table

    from orchestrator.dlq import dead_letters

    table = Table("id", "topic", "partition", "offset", "at", "reason")
    letters = asyncio.run(dead_letters(Settings()))
    for letter_id, letter in letters.items():
        table.add_row(
            letter_id,
            letter.topic,
            str(letter.partition),
            str(letter.offset),
            f"{letter.at:%Y-%m-%d %H:%M:%S}",
            letter.reason[:200],
        )
    console.print(table)
    console.print(f"{len(letters)} dead letters")


@dlq_app.command("replay")
def dlq_replay(
    letter_id: Annotated[str, typer.Argument(help="partition:offset from `list`")],
) -> None:
    """Publish one dead letter's original message to its original topic again."""
    from orchestrator.dlq import replay

    try:
        letter = asyncio.run(replay(Settings(), letter_id))
    except KeyError as exc:
        raise _fail(LookupError(f"no dead letter {letter_id}")) from exc
    console.print(f"replayed {letter_id} to {letter.topic}")


@ops_app.command("show")
def ops_show(application_id: str) -> None:
    """Print an application's story from its workflow history, in order."""
    from rich.table import Table

    from orchestrator.history import story
    from orchestrator.temporal import connect

    async def fetch() -> list[Any]:
        client = await connect(Settings())
        return story(await client.get_workflow_handle(application_id).fetch_history())

    try:
        steps = asyncio.run(fetch())
    except Exception as exc:
        console.print(f"[red]error:[/red] {application_id}: {exc}")
        _exit_now(1)
    table = Table("at (UTC)", "event", "task", "department", "detail", title=application_id)
    for step in steps:
        table.add_row(
            f"{step.at:%H:%M:%S.%f}"[:-3], step.event, step.task, step.department, step.detail
        )
    console.print(table)
    _exit_now(0)


@ops_app.command("list")
def ops_list(
    status: Annotated[str | None, typer.Option(help="running, approved, rejected, …")] = None,
    one_thing: Annotated[str | None, typer.Option("--one-thing")] = None,
    dept: Annotated[str | None, typer.Option(help="A department with a task open.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
) -> None:
    """List applications by status, one thing and department waited on (search attributes)."""
    from rich.table import Table

    from orchestrator.names import APPLICATION_STATUS, ONE_THING, PENDING_DEPARTMENTS
    from orchestrator.temporal import connect

    clauses = ["WorkflowType = 'OneThingWorkflow'"]
    for key, value in (
        (APPLICATION_STATUS, status),
        (ONE_THING, one_thing),
        (PENDING_DEPARTMENTS, dept),
    ):
        if value is not None:
            clauses.append(f"{key.name} = '{value.replace(chr(39), '')}'")
    query = " AND ".join(clauses)

    async def fetch() -> list[tuple[str, str, str, str, str]]:
        client = await connect(Settings())
        rows = []
        async for wf in client.list_workflows(query, limit=limit):
            attrs = wf.typed_search_attributes
            rows.append(
                (
                    wf.id,
                    attrs.get(ONE_THING) or "",
                    attrs.get(APPLICATION_STATUS) or "",
                    ", ".join(attrs.get(PENDING_DEPARTMENTS) or []),
                    f"{wf.start_time:%Y-%m-%d %H:%M:%S}",
                )
            )
        return rows

    table = Table("application", "one thing", "status", "waiting on", "submitted (UTC)")
    rows = asyncio.run(fetch())
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(f"{len(rows)} applications ({query})")
    _exit_now(0)


@ops_app.command("withdraw")
def ops_withdraw(
    application_id: str,
    reason: Annotated[str, typer.Option(help="Told to the applicant.")],
) -> None:
    """Withdraw an application on the applicant's behalf: its completed tasks are undone."""
    from orchestrator.models import Withdrawal
    from orchestrator.names import WITHDRAW

    withdrawal = Withdrawal(reason=f"by an operator: {reason}")
    _update(application_id, WITHDRAW, withdrawal, f"withdrawing: {application_id}")


@ops_app.command("retry")
def ops_retry(application_id: str, task_id: str) -> None:
    """Dispatch an escalated task once more, or send an escalated undo again."""
    _decide(application_id, task_id, "retry", "retried by an operator")


@ops_app.command("fail")
def ops_fail(
    application_id: str,
    task_id: str,
    reason: Annotated[str, typer.Option(help="Told to the applicant.")] = "no answer in time",
) -> None:
    """Fail an escalated task: the application is rejected and its completed tasks undone."""
    _decide(application_id, task_id, "fail", reason)


@ops_app.command("resolve")
def ops_resolve(
    application_id: str,
    task_id: str,
    reason: Annotated[str, typer.Option(help="How it was settled; kept in the record.")],
) -> None:
    """Record that an escalated undo was settled by hand: the way back goes on."""
    _decide(application_id, task_id, "resolve", reason)


def _decide(application_id: str, task_id: str, decision: str, reason: str) -> None:
    from orchestrator.models import OperatorAction, OperatorDecision
    from orchestrator.names import OPERATOR

    action = OperatorAction(task_id=task_id, decision=OperatorDecision(decision), reason=reason)
    _update(application_id, OPERATOR, action, f"{decision}: {application_id} {task_id}")


def _update(application_id: str, name: str, arg: BaseModel, done: str) -> None:
    """Send an update; report the workflow's refusal (exit 1) or what was done (exit 0)."""
    from orchestrator import updates
    from orchestrator.temporal import connect

    async def send() -> str | None:
        try:
            await updates.send(await connect(Settings()), application_id, name, arg)
        except updates.Refused as exc:
            return f"{application_id}: {exc}"
        return None

    _report(asyncio.run(send()), done)


def _report(problem: str | None, done: str) -> NoReturn:
    """Say what went wrong (exit 1) or what was done (exit 0)."""
    if problem:
        console.print(f"[red]error:[/red] {problem}")
        _exit_now(1)
    console.print(done)
    _exit_now(0)


def _exit_now(code: int) -> NoReturn:
    """End a short client command without interpreter teardown.

    The Temporal client's Rust threads can crash a finalizing interpreter
    (temporalio/sdk-python#300: "PyGILState_Release ... must be current").
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        app()


if __name__ == "__main__":
    main()
