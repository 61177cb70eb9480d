"""`onething demo`: the whole product on the embedded stack, three applications, live."""

from __future__ import annotations

import copy
import hashlib
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from adapters.simulation.spec import load_specs
from infra.errors import StackError
from infra.services import Deployment, on_free_ports
from infra.settings import Settings
from one_things import Applicant, load_catalogue
from one_things.graph import critical_path
from one_things.materials import SAMPLE, sample_material
from orchestrator.intake.identity import ASSERTION_HEADER, assertion_for
from orchestrator.workflow.models import Progress

STATE_STYLE = {
    "compensated": "magenta",
    "voided": "magenta",
    "compensating": "magenta",
    "awaiting_supplement": "yellow",
    "escalated": "red",
    "approved": "green",
    "partially_approved": "yellow",
    "rejected": "red",
    "failed": "red",
    "cancelled": "yellow",
    "dispatched": "cyan",
    "pending": "dim",
}


@dataclass(frozen=True)
class DemoApplication:
    label: str
    expected_status: str
    body: dict[str, Any]
    withdraw_once_approved: str | None = None  # the applicant withdraws when this task is done


def example(one_thing: str, **changes: Any) -> dict[str, Any]:
    """The catalogue's example application of `one_thing`, with some form fields changed;
    its sample materials are named by their hash (`sample_materials` keeps them)."""
    shown = load_catalogue().get(one_thing).example
    body: dict[str, Any] = {
        "one_thing": one_thing,
        "applicant": copy.deepcopy(shown.applicant),
        "form": {**shown.form, **changes},
    }
    if shown.materials:
        body["materials"] = {
            name: hashlib.sha256(sample_material(one_thing, name)).hexdigest()
            if given == SAMPLE
            else given
            for name, given in shown.materials.items()
        }
    return body


APPLICATIONS = (
    DemoApplication("birth", "approved", example("birth")),
    DemoApplication(
        "birth, maternity reimbursement refused",
        "partially_approved",
        example("birth", birth_hospital="广州某非定点私立医院"),
    ),
    DemoApplication("enterprise opening", "approved", example("enterprise_opening")),
    DemoApplication(
        "enterprise opening, refused",
        "rejected",
        example("enterprise_opening", company_name="国家宇宙科技有限公司"),
    ),
    DemoApplication(
        "enterprise opening, refused late at the bank",
        "rejected",
        example(
            "enterprise_opening", company_name="广州晚拒科技有限公司", bank_branch="横琴已撤销网点"
        ),
    ),
    DemoApplication(
        "enterprise opening, withdrawn",
        "withdrawn",
        example("enterprise_opening", company_name="广州撤回科技有限公司"),
        withdraw_once_approved="business_registration",
    ),
)


def applications_of(one_things: list[str]) -> tuple[DemoApplication, ...]:
    """The example application of each named one thing ("all": every one), to be approved."""
    names = [ot.id for ot in load_catalogue()] if one_things == ["all"] else one_things
    return tuple(DemoApplication(name, "approved", example(name)) for name in names)


def demo_settings(state_dir: Path) -> Settings:
    """Fresh state and free ports, so the demo never touches a running deployment.

    Real estate (mnr) trades batch files, as many provincial systems still do. The keys are
    the deployment's own, made in `state_dir` (the portal's, the identity provider's).
    """
    return on_free_ports(
        state_dir, file_departments={"mnr": state_dir / "exchange" / "mnr"}, sample_materials=True
    )


def latencies(settings: Settings) -> dict[str, float]:
    """How long each simulated department takes in this deployment."""
    specs = load_specs(load_catalogue(settings.catalogue_dir))
    return {d: settings.latency(d, spec.latency) for d, spec in specs.items()}


def timings(progress: Progress, latency: dict[str, float]) -> dict[str, float | None]:
    """Wall time of an application against the critical path and sum of its latencies."""
    durations = {t.task_id: latency[t.department] for t in progress.tasks}
    wall = None
    if progress.completed_at is not None:
        wall = (progress.completed_at - progress.submitted_at).total_seconds()
    return {
        "wall_s": wall,
        "critical_path_s": critical_path(
            durations, {t.task_id: t.depends_on for t in progress.tasks}
        ),
        "sum_s": sum(durations.values()),
    }


def _progress_table(label: str, progress: Progress) -> Table:
    table = Table(
        title=f"{label} — {progress.id} — [bold]{progress.status.value}[/bold]",
        title_justify="left",
        expand=True,
    )
    for column in ("department", "matter", "state", "attempt", "outputs / reason"):
        table.add_column(column)
    for t in progress.tasks:
        style = STATE_STYLE.get(t.state.value, "")
        detail = ", ".join(f"{k}={v}" for k, v in t.outputs.items()) or (t.reason or "")
        table.add_row(
            t.department, t.title, f"[{style}]{t.state.value}[/{style}]", str(t.attempt), detail
        )
    return table


def run_demo(
    console: Console,
    json_file: Path | None,
    applications: tuple[DemoApplication, ...] = APPLICATIONS,
    timeout: float = 120.0,
) -> int:
    """Run the demo; 0 only if every application ended as expected."""
    state_dir = Path(tempfile.mkdtemp(prefix="onething-demo-"))
    settings = demo_settings(state_dir)
    deployment = Deployment(settings)
    ok = False
    try:
        with console.status("starting Temporal, the broker, worker, bridge, departments, API…"):
            started = time.monotonic()
            deployment.up()
        console.print(
            f"everything up in {time.monotonic() - started:.1f}s; "
            f"Temporal UI {deployment.urls()['Temporal Web UI']}"
        )
        ok = _submit_and_watch(console, settings, applications, json_file, timeout)
    except (StackError, httpx.HTTPError) as exc:
        console.print(f"[red]error:[/red] {exc}")
    finally:
        with console.status("stopping everything…"):
            deployment.down()
        if ok:
            shutil.rmtree(state_dir, ignore_errors=True)
        else:
            console.print(f"logs kept in {state_dir / 'logs'}")
    console.print("[green]demo passed[/green]" if ok else "[red]demo failed[/red]")
    return 0 if ok else 1


def _submit_and_watch(
    console: Console,
    settings: Settings,
    applications: tuple[DemoApplication, ...],
    json_file: Path | None,
    timeout: float,
) -> bool:
    portal = "portal"
    headers = {"X-API-Key": settings.api_keys[portal].key}
    with httpx.Client(base_url=settings.api_url, timeout=10, headers=headers) as http:
        ids = []
        for app in applications:
            applicant = assertion_for(
                settings, Applicant.model_validate(app.body["applicant"]), portal
            )
            response = http.post(
                "/v1/applications", json=app.body, headers={ASSERTION_HEADER: applicant}
            )
            if response.status_code != 201:
                raise StackError(f"submitting {app.label}: {response.status_code} {response.text}")
            ids.append(response.json()["id"])
        latest: dict[str, Progress] = {}
        withdrawn: set[str] = set()
        deadline = time.monotonic() + timeout
        with Live(console=console, refresh_per_second=8) as live:
            while time.monotonic() < deadline:
                for app, app_id in zip(applications, ids, strict=True):
                    latest[app_id] = Progress.model_validate(
                        http.get(f"/v1/applications/{app_id}").json()
                    )
                    trigger = app.withdraw_once_approved
                    if (
                        trigger
                        and app.label not in withdrawn
                        and latest[app_id].task(trigger).state.value == "approved"
                    ):
                        http.post(
                            f"/v1/applications/{app_id}/withdraw",
                            json={"reason": "经营计划变更 change of plans"},
                        )
                        withdrawn.add(app.label)
                live.update(
                    Group(
                        *(
                            _progress_table(a.label, latest[i])
                            for a, i in zip(applications, ids, strict=True)
                        )
                    )
                )
                if all(p.finished for p in latest.values()):
                    break
                time.sleep(0.25)
    latency = latencies(settings)
    summary = Table(title="results (wall time against the department latencies)")
    for column in ("application", "expected", "status", "wall s", "critical path s", "sum s"):
        summary.add_column(column)
    ok = True
    documents = []
    for app, app_id in zip(applications, ids, strict=True):
        progress = latest[app_id]
        documents.append(progress.model_dump(mode="json"))
        t = timings(progress, latency)
        good = progress.status.value == app.expected_status
        ok &= good
        summary.add_row(
            app.label,
            app.expected_status,
            f"[{'green' if good else 'red'}]{progress.status.value}[/]",
            f"{t['wall_s']:.2f}" if t["wall_s"] is not None else "-",
            f"{t['critical_path_s']:.2f}",
            f"{t['sum_s']:.2f}",
        )
    console.print()
    console.print(summary)
    for app, app_id in zip(applications, ids, strict=True):
        progress = latest[app_id]
        if progress.reason:
            console.print(f"[bold]{app.label}[/bold]: {progress.reason}")
        undone = progress.undone()
        if undone:
            steps = " → ".join(
                f"{t.department} {t.state.value} {t.compensated_at:%H:%M:%S.%f}"[:-3]
                for t in undone
            )
            console.print(f"  undone newest first: {steps}")
    if json_file is not None:
        json_file.write_bytes(orjson.dumps(documents, option=orjson.OPT_INDENT_2))
        console.print(f"progress documents written to {json_file}")
    return ok
