"""`onething audit …`: an application's audit trail, and whether its chain holds."""

from __future__ import annotations

import typer

from infra.settings import Settings
from orchestrator.cli.ops import AsJson
from orchestrator.cli.output import console, exit_now, listing
from orchestrator.stores.audit import audit_trail

audit_app = typer.Typer(help="The audit trail: exchanges and operator actions, hash-chained.")


@audit_app.command("show")
def audit_show(application_id: str, as_json: AsJson = False) -> None:
    """Every entry of an application's trail, oldest first."""
    entries = audit_trail(Settings()).entries(application_id)
    rows = [
        {
            "seq": str(e.seq),
            "at (UTC)": f"{e.at:%Y-%m-%d %H:%M:%S.%f}"[:-3],
            "kind": e.kind,
            "actor": e.actor,
            "detail": ", ".join(f"{k}={v}" for k, v in e.detail.items()),
            "hash": e.hash[:12],
        }
        for e in entries
    ]
    columns = ("seq", "at (UTC)", "kind", "actor", "detail", "hash")
    listing(rows, columns, as_json, f"{len(rows)} entries of {application_id}")
    exit_now(0)


@audit_app.command("verify")
def audit_verify(application_id: str) -> None:
    """Check the chain: each entry's hash, its link to the one before, its signature. Exit 1
    naming the first broken entry."""
    checked, broken = audit_trail(Settings()).verify(application_id)
    if broken is not None:
        console.print(f"[red]broken:[/red] {application_id}: {broken} ({checked} entries hold)")
        exit_now(1)
    if checked == 0:
        console.print(f"[red]error:[/red] no audit trail of {application_id}")
        exit_now(1)
    console.print(f"intact: {application_id}: {checked} entries, each signed and chained")
    exit_now(0)
