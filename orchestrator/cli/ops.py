"""`onething ops …`: operators' commands against the running deployment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from infra.settings import Settings
from orchestrator.cli.output import against, console, exit_now, fail, listing, report, temporal
from orchestrator.workflow.models import ApplicationStatus

ops_app = typer.Typer(help="Operator commands.")
AsJson = Annotated[bool, typer.Option("--json", help="A JSON array, for scripts.")]


@ops_app.command("history")
def ops_history(application_id: str, file: Path) -> None:
    """Write the workflow history of one application to FILE (JSON), e.g. for replay tests."""
    settings = Settings()

    async def fetch() -> str:
        client = await temporal(settings)
        history = await client.get_workflow_handle(application_id).fetch_history()
        return history.to_json()

    _read_by_operator(application_id, "history", "ops history")
    file.write_text(against(settings, fetch()))
    console.print(f"wrote {file}")
    exit_now(0)


def _read_by_operator(application_id: str, what: str, why: str) -> None:
    """An operator is about to read the application: it goes into the applicant's access log
    first, through the API (the CLI holds no audit key); nothing is read if it cannot."""
    refused = _ask_api(f"/v1/applications/{application_id}/reads", {"what": what, "why": why})
    if refused is not None:
        report(f"the read could not be logged, so nothing is shown: {refused}", "")


dlq_app = typer.Typer(help="The dead-letter topic onething.dlq.")
ops_app.add_typer(dlq_app, name="dlq")


@dlq_app.command("list")
def dlq_list(as_json: AsJson = False) -> None:
    """List every message that could not be parsed or applied, with the reason."""
    from orchestrator.ops.dlq import dead_letters

    settings = Settings()
    letters = against(settings, dead_letters(settings))
    rows = [
        {
            "id": letter_id,
            "topic": letter.topic,
            "partition": str(letter.partition),
            "offset": str(letter.offset),
            "at": f"{letter.at:%Y-%m-%d %H:%M:%S}",
            "reason": letter.reason[:200],
        }
        for letter_id, (letter, _, _) in letters.items()
    ]
    columns = ("id", "topic", "partition", "offset", "at", "reason")
    listing(rows, columns, as_json, f"{len(letters)} dead letters")
    exit_now(0)


@dlq_app.command("replay")
def dlq_replay(
    letter_id: Annotated[str, typer.Argument(help="partition:offset from `list`")],
) -> None:
    """Publish one dead letter's original message to its original topic again."""
    from orchestrator.ops.dlq import replay

    settings = Settings()
    try:
        letter = against(settings, replay(settings, letter_id))
    except KeyError as exc:
        raise fail(LookupError(f"no dead letter {letter_id}")) from exc
    console.print(f"replayed {letter_id} to {letter.topic} (its key and headers kept)")
    exit_now(0)


@ops_app.command("show")
def ops_show(application_id: str, as_json: AsJson = False) -> None:
    """Print an application's story from its workflow history, in order."""
    from temporalio.service import RPCError

    from orchestrator.ops.history import readable, story

    settings = Settings()

    async def fetch() -> list[Any]:
        client = await temporal(settings)
        history = await client.get_workflow_handle(application_id).fetch_history()
        return story(await readable(history, client.data_converter.payload_codec))

    _read_by_operator(application_id, "history", "ops show")
    try:
        steps = against(settings, fetch())
    except RPCError as exc:
        report(f"{application_id}: {exc}", "")
    rows = [
        {
            "at": step.at.isoformat() if as_json else f"{step.at:%H:%M:%S.%f}"[:-3],
            "event": step.event,
            "task": step.task,
            "department": step.department,
            "detail": step.detail,
        }
        for step in steps
    ]
    listing(rows, ("at", "event", "task", "department", "detail"), as_json, application_id)
    exit_now(0)


@ops_app.command("list")
def ops_list(
    status: Annotated[
        ApplicationStatus | None, typer.Option(help="The application's status.")
    ] = None,
    one_thing: Annotated[str | None, typer.Option("--one-thing")] = None,
    dept: Annotated[str | None, typer.Option(help="A department with a task open.")] = None,
    escalated: Annotated[
        bool, typer.Option("--escalated", help="Only those waiting for an operator.")
    ] = False,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    as_json: AsJson = False,
) -> None:
    """List applications, and undos of late approvals (`late:…`), by status, one thing,
    department waited on and escalation (search attributes)."""
    from orchestrator.workflow.names import (
        APPLICATION_STATUS,
        ESCALATED,
        LATE_UNDO_WORKFLOW,
        ONE_THING,
        PENDING_DEPARTMENTS,
        WORKFLOW,
    )

    clauses = [f"WorkflowType IN ('{WORKFLOW}', '{LATE_UNDO_WORKFLOW}')"]
    if escalated:
        clauses.append(f"{ESCALATED.name} = true")
    for key, value in (
        (APPLICATION_STATUS, status.value if status is not None else None),
        (ONE_THING, one_thing),
        (PENDING_DEPARTMENTS, dept),
    ):
        if value is not None:
            clauses.append(f"{key.name} = '{value.replace(chr(39), '')}'")
    query = " AND ".join(clauses)

    settings = Settings()

    async def fetch() -> list[dict[str, str]]:
        client = await temporal(settings)
        rows = []
        async for wf in client.list_workflows(query, limit=limit):
            attrs = wf.typed_search_attributes
            rows.append(
                {
                    "application": wf.id,
                    "one thing": attrs.get(ONE_THING) or "",
                    "status": attrs.get(APPLICATION_STATUS) or "",
                    "waiting on": ", ".join(attrs.get(PENDING_DEPARTMENTS) or []),
                    "submitted (UTC)": f"{wf.start_time:%Y-%m-%d %H:%M:%S}",
                }
            )
        return rows

    rows = against(settings, fetch())
    columns = ("application", "one thing", "status", "waiting on", "submitted (UTC)")
    listing(rows, columns, as_json, f"{len(rows)} applications ({query})")
    exit_now(0)


@ops_app.command("follow-ups")
def ops_follow_ups(
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only those not answered in time.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Poor ratings' follow-ups (差评整改): whose, why, due when, answered or not."""
    from datetime import UTC, datetime

    from infra import database
    from orchestrator.stores.ratings import RatingBook

    settings = Settings()
    now = datetime.now(UTC)
    book = RatingBook(database.engine(database.url_of(settings, "ratings")))
    rows = [
        {
            "application": f.application_id,
            "task": f.task_id,
            "department": f.department,
            "score": str(f.score),
            "reasons": "; ".join(f.reasons),
            "due (UTC)": f"{f.due_at:%Y-%m-%d %H:%M:%S}",
            "state": f.state(now),
        }
        for f in book.follow_ups()
        if not overdue or f.state(now) == "overdue"
    ]
    columns = ("application", "task", "department", "score", "reasons", "due (UTC)", "state")
    listing(rows, columns, as_json, f"{len(rows)} follow-ups")
    exit_now(0)


@ops_app.command("withdraw")
def ops_withdraw(
    application_id: str,
    reason: Annotated[str, typer.Option(help="Told to the applicant.")],
) -> None:
    """Withdraw an application on the applicant's behalf: its completed tasks are undone."""
    _as_operator(
        f"/v1/applications/{application_id}/withdraw",
        {"reason": reason},
        f"withdrawing: {application_id}",
    )


@ops_app.command("retry")
def ops_retry(
    application_id: str,
    task_id: str,
    reason: Annotated[
        str, typer.Option(help="Why; kept in the audit trail.")
    ] = "retried by an operator",
) -> None:
    """Dispatch an escalated task once more, or send an escalated undo again."""
    _decide(application_id, task_id, "retry", reason)


@ops_app.command("fail")
def opsfail(
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


@ops_app.command("reset")
def ops_reset(
    application_id: str,
    reason: Annotated[str, typer.Option(help="Why; kept in the audit trail.")],
) -> None:
    """Take an application stuck on a bug back to its last good point (its last completed
    workflow task), once the fix is deployed: it runs on from there, on today's code."""
    _as_operator(
        f"/v1/applications/{application_id}/reset", {"reason": reason}, f"reset: {application_id}"
    )


@ops_app.command("revoke-links")
def ops_revoke_links(application_id: str) -> None:
    """Revoke every tracking link given for an application so far (one leaked, say); its
    portal may give the applicant a new one. Kept in the shared database and the audit trail."""
    path = f"/v1/applications/{application_id}/tracking-links/revoke"
    _as_operator(path, {}, f"tracking links revoked: {application_id}")


def _decide(application_id: str, task_id: str, decision: str, reason: str) -> None:
    path = f"/v1/applications/{application_id}/tasks/{task_id}/decision"
    body = {"decision": decision, "reason": reason}
    _as_operator(path, body, f"{decision}: {application_id} {task_id}")


def _as_operator(path: str, body: dict[str, str], done: str) -> None:
    """Ask the API, with the operator's own key (`ONETHING_OPERATOR`: its name in the key
    set), so the audit trail names who did it; report its refusal (exit 1) or what was done."""
    report(_ask_api(path, body), done)


def _ask_api(path: str, body: dict[str, str]) -> str | None:
    """POST `body` to the API as the operator; why it was refused, or None if it was done
    (exit 2 if the API does not answer)."""
    import httpx

    settings = Settings()
    key = settings.api_keys.get(settings.operator)
    if key is None or key.role != "operator":
        report(f"no operator key named {settings.operator!r} (ONETHING_OPERATOR)", "")
    assert key is not None
    try:
        response = httpx.post(
            settings.api_url + path, json=body, headers={"X-API-Key": key.key}, timeout=30
        )
    except httpx.HTTPError as exc:
        console.print(f"[red]error:[/red] the API at {settings.api_url} does not answer ({exc})")
        exit_now(2)
    if response.status_code == 503:
        console.print("[red]error:[/red] the service is unavailable for a moment: try again")
        exit_now(2)
    if response.status_code >= 400:
        detail = (
            response.json().get("detail")
            if response.headers.get("content-type", "").endswith("json")
            else response.text
        )
        return f"{path.split('/')[3]}: {detail}"
    return None
