"""What the CLI prints, and how a short client command ends."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import typer
from rich.console import Console

console = Console()


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
