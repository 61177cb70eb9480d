"""`onething demo`: the whole product on the embedded stack, three applications, live."""

from __future__ import annotations

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

from infra.services import Deployment
from infra.settings import Settings
from infra.supervisor import StackError, free_port
from one_things.graph import critical_path
from orchestrator.models import Progress

DEMO_LATENCY = {
    "amr": 1.5,
    "psb": 1.0,
    "tax": 1.2,
    "hrss": 0.8,
    "hpf": 0.7,
    "bank": 1.1,
    "nhc": 1.0,
    "nhsa": 0.8,
}
STATE_STYLE = {
    "compensated": "magenta",
    "voided": "magenta",
    "compensating": "magenta",
    "awaiting_supplement": "yellow",
    "escalated": "red",
    "approved": "green",
    "rejected": "red",
    "failed": "red",
    "cancelled": "yellow",
    "dispatched": "cyan",
    "pending": "dim",
}
FOUNDER_ID = "110105199003071239"
MOTHER_ID = "44010619920512002X"


@dataclass(frozen=True)
class DemoApplication:
    label: str
    expected_status: str
    body: dict[str, Any]
    withdraw_once_approved: str | None = None  # the applicant withdraws when this task is done


def _enterprise(company_name: str, **changes: Any) -> dict[str, Any]:
    body = {
        "one_thing": "enterprise_opening",
        "applicant": {"name": "张三", "id_number": FOUNDER_ID, "phone": "13800138000"},
        "form": {
            "company_name": company_name,
            "registered_address": "广州市天河区天河路1号",
            "registered_capital_wan": 100,
            "business_scope": "软件开发；信息技术咨询服务",
            "legal_representative_name": "张三",
            "legal_representative_id": FOUNDER_ID,
            "contact_phone": "13800138000",
            "employee_count": 5,
            "seal_count": 2,
            "payroll_certificate_ref": "GZ-2026-0001",
            "open_bank_account": True,
            "bank_branch": "天河支行",
        },
    }
    body["form"].update(changes)  # type: ignore[attr-defined]
    return body


APPLICATIONS = (
    DemoApplication(
        "birth",
        "approved",
        {
            "one_thing": "birth",
            "applicant": {"name": "王芳", "id_number": MOTHER_ID, "phone": "13900139000"},
            "form": {
                "baby_name": "李小明",
                "baby_sex": "男",
                "birth_date": "2026-11-20",
                "birth_hospital": "广东省妇幼保健院",
                "mother_name": "王芳",
                "mother_id": MOTHER_ID,
                "household_address": "广州市越秀区中山路2号",
                "mother_insured": True,
                "delivery_cost_yuan": 6800,
            },
        },
    ),
    DemoApplication("enterprise opening", "approved", _enterprise("广州一件事科技有限公司")),
    DemoApplication("enterprise opening, refused", "rejected", _enterprise("国家宇宙科技有限公司")),
    DemoApplication(
        "enterprise opening, refused late at the bank",
        "rejected",
        _enterprise("广州晚拒科技有限公司", bank_branch="横琴已撤销网点"),
    ),
    DemoApplication(
        "enterprise opening, withdrawn",
        "withdrawn",
        _enterprise("广州撤回科技有限公司"),
        withdraw_once_approved="business_registration",
    ),
)


def demo_settings(state_dir: Path) -> Settings:
    """Fresh state and free ports, so the demo never touches a running deployment."""
    return Settings(
        state_dir=state_dir,
        kafka_port=free_port(),
        temporal_port=free_port(),
        temporal_ui_port=free_port(),
        api_port=free_port(),
        bridge_port=free_port(),
        sim_latency=DEMO_LATENCY,
    )


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


def run_demo(console: Console, json_file: Path | None, timeout: float = 120.0) -> int:
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
        ok = _submit_and_watch(console, settings, json_file, timeout)
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
    console: Console, settings: Settings, json_file: Path | None, timeout: float
) -> bool:
    with httpx.Client(base_url=settings.api_url, timeout=10) as http:
        ids = []
        for app in APPLICATIONS:
            response = http.post("/v1/applications", json=app.body)
            if response.status_code != 201:
                raise StackError(f"submitting {app.label}: {response.status_code} {response.text}")
            ids.append(response.json()["id"])
        latest: dict[str, Progress] = {}
        withdrawn: set[str] = set()
        deadline = time.monotonic() + timeout
        with Live(console=console, refresh_per_second=8) as live:
            while time.monotonic() < deadline:
                for app, app_id in zip(APPLICATIONS, ids, strict=True):
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
                            for a, i in zip(APPLICATIONS, ids, strict=True)
                        )
                    )
                )
                if all(p.finished for p in latest.values()):
                    break
                time.sleep(0.25)
    summary = Table(title="results (wall time against the department latencies)")
    for column in ("application", "expected", "status", "wall s", "critical path s", "sum s"):
        summary.add_column(column)
    ok = True
    documents = []
    for app, app_id in zip(APPLICATIONS, ids, strict=True):
        progress = latest[app_id]
        documents.append(progress.model_dump(mode="json"))
        t = timings(progress, settings.sim_latency)
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
    for app, app_id in zip(APPLICATIONS, ids, strict=True):
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
