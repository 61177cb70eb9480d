"""What the CLI prints, and how a short client command ends."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Coroutine, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import orjson
import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.table import Table
from temporalio.service import RPCError

from infra.settings import Settings

if TYPE_CHECKING:
    from temporalio.client import Client

console = Console()
T = TypeVar("T")
UNREACHABLE = 2  # the exit code of a command whose service did not answer


async def temporal(settings: Settings) -> Client:
    """A client for a short command: it gives up within seconds when Temporal is away."""
    from orchestrator.client import connect

    return await connect(settings, wait=3.0, give_up_after=timedelta(seconds=5))


def against(settings: Settings, work: Coroutine[Any, Any, T]) -> T:
    """Run a command's work; if Temporal or Kafka does not answer, say which in one line and
    exit 2, instead of a traceback."""
    from orchestrator.client import unavailable

    try:
        return asyncio.run(work)
    except KafkaError as exc:
        problem = f"Kafka at {settings.kafka} does not answer ({type(exc).__name__})"
    except RPCError as exc:
        if not unavailable(exc):
            raise
        problem = f"Temporal at {settings.temporal} does not answer ({exc.status.name})"
    except RuntimeError as exc:  # the SDK's "Failed client connect"
        if "connect" not in str(exc).lower():
            raise
        problem = f"Temporal at {settings.temporal} does not answer"
    console.print(f"[red]error:[/red] {problem}")
    exit_now(UNREACHABLE)


def listing(
    rows: Sequence[dict[str, str]], columns: Sequence[str], as_json: bool, summary: str = ""
) -> None:
    """Rows as a table for people, or as a JSON array (`--json`) for scripts."""
    if as_json:
        sys.stdout.write(orjson.dumps(list(rows), option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*(row[c] for c in columns))
    console.print(table)
    if summary:
        console.print(summary)


def fail(exc: Exception) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(1)


def report(problem: str | None, done: str) -> NoReturn:
    """Say what went wrong (exit 1) or what was done (exit 0)."""
    if problem:
        console.print(f"[red]error:[/red] {problem}")
        exit_now(1)
    console.print(done)
    exit_now(0)


def exit_now(code: int) -> NoReturn:
    """End a short client command without interpreter teardown.

    The Temporal client's Rust threads can crash a finalizing interpreter
    (temporalio/sdk-python#300: "PyGILState_Release ... must be current").
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
