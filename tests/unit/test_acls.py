"""`onething setup --acls`: one principal per party, each allowed only what its code uses."""

from __future__ import annotations

from pathlib import Path

from infra.acls import BRIDGE_GROUP, INTAKE_GROUP, Acl, acls, printed
from infra.settings import Settings
from orchestrator.bridge.app import APP_ID
from orchestrator.intake.consumer import GROUP

DEPARTMENTS = ["amr", "tax", "hpf"]


def of(found: list[Acl], principal: str) -> set[tuple[str, str, str, bool]]:
    return {
        (a.operation, a.resource, a.name, a.prefixed) for a in found if a.principal == principal
    }


def test_a_department_reads_only_its_own_tasks_and_group_and_writes_only_results(
    tmp_path: Path,
) -> None:
    found = acls(Settings(state_dir=tmp_path), DEPARTMENTS, ["portal-a"])
    assert of(found, "User:dept-amr") == {
        ("Read", "Topic", "dept.amr.tasks", False),
        ("Read", "Group", "dept-amr", False),
        ("Write", "Topic", "dept.results", False),
    }
    assert of(found, "User:portal-a") == {
        ("Write", "Topic", "onething.applications", False),
    }


def test_onethings_processes_get_what_they_use_and_no_more(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, sim_skip=["hpf"])
    found = acls(settings, DEPARTMENTS, [])
    worker = of(found, "User:onething-worker")
    assert {a[2] for a in worker if a[0] == "Write"} == {
        "dept.amr.tasks",
        "dept.hpf.tasks",
        "dept.tax.tasks",
        "onething.status",
    }
    assert not {a for a in worker if a[0] == "Read"}
    adapters = of(found, "User:onething-departments")
    assert {a[2] for a in adapters if a[0] == "Read"} == {
        "dept.amr.tasks",
        "dept.tax.tasks",
        settings.departments_group,
    }
    assert {a[2] for a in adapters if a[0] == "Write"} == {"dept.results", "onething.dlq"}
    bridge = of(found, "User:onething-bridge")
    assert {a[2] for a in bridge if a[0] == "Read" and not a[3]} == {
        "dept.results",
        "onething.status",
        "onething-bridge",
    }
    api = of(found, "User:onething-api")
    assert ("Read", "Topic", "onething.applications", False) in api
    assert not {a for a in api if a[0] == "Write" and a[2].startswith("dept.")}


def test_principals_are_named_by_the_settings_and_printed_one_a_line(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, kafka_principals={"dept-amr": "User:CN=amr.gd.gov.cn"})
    found = acls(settings, ["amr"], ["portal-a"])
    text = printed(found)
    assert "User:CN=amr.gd.gov.cn" in text and "User:dept-amr" not in text
    lines = text.splitlines()
    assert lines[0].split() == ["principal", "operation", "resource", "name"]
    assert len(lines) == len(found) + 1
    assert any(
        line.split() == ["User:onething-bridge", "Create", "Topic", "onething-bridge-*"]
        for line in lines
    )


def test_the_group_names_are_the_processes_own() -> None:
    assert (BRIDGE_GROUP, INTAKE_GROUP) == (APP_ID, GROUP)
