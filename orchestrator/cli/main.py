"""`onething`: run the stack, the processes, the demo, schema export and operator commands."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer
from aiokafka.errors import KafkaError
from temporalio.service import RPCError

from infra import keyset, setup
from infra.errors import StackError
from infra.services import Deployment
from infra.settings import Settings
from orchestrator import bootstrap
from orchestrator.cli.audit import audit_app
from orchestrator.cli.ops import AsJson, ops_app
from orchestrator.cli.output import console, exit_now, fail, listing, report

app = typer.Typer(
    help="OneThing: one application, many departments, in parallel.", no_args_is_help=True
)
stack_app = typer.Typer(help="The embedded Temporal server and Kafka-protocol broker.")
schemas_app = typer.Typer(help="Contracts for departments.")
catalogue_app = typer.Typer(help="The one things and their live versions.")
app.add_typer(stack_app, name="stack")
app.add_typer(schemas_app, name="schemas")
app.add_typer(catalogue_app, name="catalogue")
app.add_typer(ops_app, name="ops")
app.add_typer(audit_app, name="audit")


@stack_app.command("up")
def stack_up() -> None:
    """Start the Temporal dev server and the broker, create the topics (no-op if running)."""
    deployment = Deployment(Settings())
    try:
        deployment.stack.up()
    except StackError as exc:
        raise fail(exc) from exc
    _print_urls(deployment)


@stack_app.command("down")
def stack_down() -> None:
    """Stop the Temporal dev server and the broker."""
    console.print(f"stopped: {', '.join(Deployment(Settings()).stack.down()) or 'nothing'}")


@stack_app.command("status")
def stack_status(as_json: AsJson = False) -> None:
    """Show what of the stack runs; exit 1 if something does not."""
    _print_status(Deployment(Settings()).stack.status(), as_json)


@app.command("setup")
def setup_cluster(
    acls: Annotated[
        bool,
        typer.Option(
            "--acls",
            help="Instead: make the broker's ACLs, one principal per party (print them if "
            "the broker keeps no ACLs).",
        ),
    ] = False,
) -> None:
    """Create the topics, register the search attributes and migrate the shared database a
    cluster needs (idempotent)."""
    from sqlalchemy.exc import SQLAlchemyError

    settings = Settings()
    if acls:
        setup_acls(settings)

    async def both() -> tuple[setup.Done, setup.Done]:
        return await setup.create_topics(settings), await setup.register_search_attributes(settings)

    try:
        made_topics, made_attributes = asyncio.run(both())
        migrated = setup.migrate_databases(settings)
    except (KafkaError, RPCError, TimeoutError, SQLAlchemyError) as exc:
        report(f"setup failed ({type(exc).__name__}): {exc}", "")
    done = (
        ("topics", made_topics),
        ("search attributes", made_attributes),
        ("databases", migrated),
    )
    for what, done_here in done:
        console.print(
            f"{what}: created {', '.join(done_here.created) or 'none'}; "
            f"{len(done_here.present)} already there"
        )
    exit_now(0)


def setup_acls(settings: Settings) -> None:
    """Make every party's ACLs, or print them where the broker keeps none."""
    from infra import acls
    from one_things import load_catalogue

    departments = load_catalogue(settings.catalogue_dir).departments()
    portals = [name for name, key in settings.api_keys.items() if key.role == "portal"]
    wanted = acls.acls(settings, departments, portals)
    try:
        asyncio.run(acls.create(settings, wanted))
    except acls.NoAuthorizer as exc:
        print(f"{exc}; make these where it does:")
    except (KafkaError, TimeoutError) as exc:
        report(f"ACLs not made ({type(exc).__name__}): {exc}", "")
    else:
        console.print(f"ACLs: made {len(wanted)}")
    print(acls.printed(wanted))
    exit_now(0)


@app.command("command-keys")
def command_keys(directory: Path) -> None:
    """Write OneThing's public keys that sign task commands, one PEM file per key id, for a
    department to check commands with; print KEY_ID=FILE for each."""
    settings = Settings()
    directory.mkdir(parents=True, exist_ok=True)
    for key_id, pem in settings.command_verify_keys.items():
        file = directory / f"onething-command-{key_id}.pem"
        file.write_text(pem)
        print(f"{key_id}={file}")


@app.command("up")
def up() -> None:
    """Start the stack and every process in the background; print the URLs."""
    settings = Settings()
    keys = keyset.create_if_missing(settings.state_dir, settings.catalogue_dir)
    deployment = Deployment(Settings())
    console.print(f"keys: {keys} (API keys by role and department, the identity provider's)")
    try:
        deployment.up()
    except StackError as exc:
        raise fail(exc) from exc
    _print_urls(deployment)


@app.command("down")
def down() -> None:
    """Stop every process and the stack."""
    console.print(f"stopped: {', '.join(Deployment(Settings()).down()) or 'nothing'}")


@app.command("status")
def status(as_json: AsJson = False) -> None:
    """Show which processes run; exit 1 if one does not."""
    _print_status(Deployment(Settings()).status(), as_json)


def _print_urls(deployment: Deployment) -> None:
    urls = deployment.urls()
    width = max(map(len, urls))
    for what, url in urls.items():
        console.print(f"{what:>{width}}  {url}")


def _print_status(pids: dict[str, int | None], as_json: bool) -> None:
    rows = [
        {"name": name, "state": "running" if pid else "stopped", "pid": str(pid or "")}
        for name, pid in pids.items()
    ]
    listing(rows, ("name", "state", "pid"), as_json)
    if not all(pids.values()):
        raise typer.Exit(1)


@app.command("worker")
def worker() -> None:
    """Run the Temporal worker (workflows and activities) in the foreground."""
    bootstrap.serve_worker(Settings())


@app.command("departments")
def departments() -> None:
    """Run the department adapters (simulated, REST, file exchange) in the foreground."""
    bootstrap.serve_departments(Settings())


@app.command("simulators")
def simulators() -> None:
    """Serve every department's simulated system over HTTP, each at /DEPT."""
    bootstrap.serve_simulators(Settings())


@app.command("simulator")
def simulator(
    department: str,
    port: Annotated[int, typer.Option(help="Port to serve on.")],
    db: Annotated[Path, typer.Option(help="SQLite file of its records.")],
) -> None:
    """Serve one department's simulated system over HTTP, as its own service."""
    bootstrap.serve_simulator(Settings(), department, port, db)


@app.command("bridge")
def bridge() -> None:
    """Run the results bridge (Faust) in the foreground."""
    bootstrap.serve_bridge(Settings())


@app.command("api")
def api() -> None:
    """Run the intake API in the foreground."""
    bootstrap.serve_api(Settings())


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
    from orchestrator.cli.demo import APPLICATIONS, DemoApplication, applications_of, run_demo

    applications: tuple[DemoApplication, ...] = APPLICATIONS
    if one_thing:
        try:
            applications = applications_of(one_thing)
        except UnknownOneThing as exc:
            known = ", ".join(ot.id for ot in load_catalogue())
            raise fail(LookupError(f"{exc}; the catalogue has: {known}, or all")) from exc
    raise typer.Exit(run_demo(console, json_file, applications))


@schemas_app.command("export")
def schemas_export(directory: Path) -> None:
    """Write a JSON Schema per contract, the AsyncAPI document and every department's contract
    into DIRECTORY."""
    from events.schemas import export
    from one_things import export_contracts, load_catalogue, matters_by_department

    settings = Settings()
    catalogue = load_catalogue(settings.catalogue_dir)
    for path in [
        *export(directory, catalogue.departments(), matters_by_department(catalogue)),
        *export_contracts(catalogue, directory),
    ]:
        console.print(str(path))


@catalogue_app.command("versions")
def catalogue_versions() -> None:
    """Each one thing's live versions, oldest first (a new application gets the newest)."""
    from one_things import load_catalogue

    catalogue = load_catalogue(Settings().catalogue_dir)
    for one_thing in catalogue:
        console.print(f"{one_thing.id}: {', '.join(catalogue.versions(one_thing.id))}")


@catalogue_app.command("diff")
def catalogue_diff(one_thing: str, old: str, new: str) -> None:
    """What changed in ONE_THING from version OLD to version NEW: + added, - removed,
    ~ changed."""
    from one_things import CatalogueProblem, load_catalogue
    from one_things.diff import diff

    catalogue = load_catalogue(Settings().catalogue_dir)
    try:
        changes = diff(catalogue.get(one_thing, old), catalogue.get(one_thing, new))
    except CatalogueProblem as exc:
        known = ", ".join(catalogue.versions(one_thing)) or "none"
        raise fail(LookupError(f"{exc}; its live versions: {known}")) from exc
    for line in changes or ["no change"]:
        console.print(line, soft_wrap=True, markup=False, highlight=False)


@app.command("department-keys")
def department_keys(department: str) -> None:
    """Make a department a new key pair to prove its answers with, under a fresh key id: the
    private key for the department alone, the public key for OneThing's settings."""
    import secrets

    import orjson

    from infra.signing import new_pair

    private, public = new_pair()
    key_id = f"{department}-{secrets.token_hex(4)}"
    entry = orjson.dumps({key_id: public}).decode()
    print(f"# {department}'s private key, id {key_id}: the department keeps it, no one else")
    print(private, end="")
    print(f'# add to ONETHING_DEPARTMENT_ANSWER_KEYS under "{department}" (keep older ids):')
    print(entry)


@app.command("openapi")
def openapi(file: Path) -> None:
    """Write the intake API's OpenAPI document to FILE (JSON)."""
    import orjson

    document = bootstrap.openapi_document(Settings())
    file.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    console.print(f"wrote {file}")


def main() -> None:
    from pydantic import ValidationError

    with contextlib.suppress(KeyboardInterrupt):
        try:
            app()
        except ValidationError as exc:  # where and why, never the value
            problems = "; ".join(
                f"{'.'.join(map(str, error['loc'])) or 'settings'}: {error['msg']}"
                for error in exc.errors(include_input=False, include_url=False)
            )
            raise SystemExit(f"the settings are wrong: {problems}") from None


if __name__ == "__main__":
    main()
