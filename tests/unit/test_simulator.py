from pathlib import Path

import pytest
import yaml

from adapters.simulation.engine import SimulatedDepartment
from adapters.simulation.spec import SPEC_DIR, load_specs
from events import Action, Outcome, TaskCommand
from one_things import CatalogueError, load_catalogue
from one_things.identity import check_credit_code, check_resident_id
from tests.factories import task_command

CATALOGUE = load_catalogue()
SPECS = load_specs(CATALOGUE)


def simulator(department: str) -> SimulatedDepartment:
    return SimulatedDepartment(SPECS[department], CATALOGUE, latency=0)


def command(
    department: str, matter: str, one_thing: str, attempt: int = 1, **payload: object
) -> TaskCommand:
    return task_command(
        application_id="ot-9",
        task_id=matter,
        attempt=attempt,
        one_thing=one_thing,
        matter=matter,
        department=department,
        payload=payload,
        reply_token=f"token-{attempt}",
    )


async def test_issues_valid_identifiers_the_same_for_every_attempt() -> None:
    amr = simulator("amr")
    first = await amr.handle(
        command(
            "amr",
            "business_registration",
            "enterprise_opening",
            company_name="广州一件事科技有限公司",
        )
    )
    again = await amr.handle(
        command(
            "amr",
            "business_registration",
            "enterprise_opening",
            attempt=2,
            company_name="广州一件事科技有限公司",
        )
    )
    assert first.outcome is Outcome.APPROVED
    assert check_credit_code(first.outputs["unified_social_credit_code"])
    assert first.outputs == again.outputs
    assert (first.attempt, again.attempt) == (1, 2)
    assert again.reply_token == "token-2"


async def test_rejects_by_rule_with_a_reason() -> None:
    amr = simulator("amr")
    result = await amr.handle(
        command(
            "amr",
            "business_registration",
            "enterprise_opening",
            company_name="国家宇宙科技有限公司",
        )
    )
    assert result.outcome is Outcome.REJECTED
    assert result.reason is not None and "国家" in result.reason
    psb = simulator("psb")
    hukou = await psb.handle(command("psb", "hukou_registration", "birth", baby_name="Li 小明"))
    assert hukou.outcome is Outcome.REJECTED


async def test_hukou_issues_a_valid_citizen_id_and_compensation_is_confirmed() -> None:
    psb = simulator("psb")
    hukou = await psb.handle(
        command("psb", "hukou_registration", "birth", baby_name="李小明", birth_date="2026-11-20")
    )
    citizen_id = hukou.outputs["citizen_id_number"]
    assert check_resident_id(citizen_id) and citizen_id[6:14] == "20261120"
    undo = command("psb", "hukou_registration", "birth").model_copy(
        update={
            "action": Action.COMPENSATE,
            "idempotency_key": "ot-9/hukou_registration/compensate",
        }
    )
    assert (await psb.handle(undo)).outcome is Outcome.COMPENSATED


async def test_a_matter_of_another_department_is_refused() -> None:
    tax = simulator("tax")
    result = await tax.handle(command("tax", "hukou_registration", "birth"))
    assert result.outcome is Outcome.REJECTED


def test_a_department_spec_must_cover_the_catalogue(tmp_path: Path) -> None:
    for spec in (SPEC_DIR).glob("*.yaml"):
        if spec.stem != "amr":
            (tmp_path / spec.name).write_text(spec.read_text())
    with pytest.raises(CatalogueError, match=r"amr\.yaml: <file>: no simulator"):
        load_specs(CATALOGUE, tmp_path)
    amr = yaml.safe_load((SPEC_DIR / "amr.yaml").read_text())
    del amr["undo"]["deregister_company"]
    (tmp_path / "amr.yaml").write_text(yaml.safe_dump(amr, allow_unicode=True))
    with pytest.raises(CatalogueError, match="undo: no undo for 'deregister_company'"):
        load_specs(CATALOGUE, tmp_path)
    amr = yaml.safe_load((SPEC_DIR / "amr.yaml").read_text())
    amr["checks"][0]["one_thing"] = "birth"
    (tmp_path / "amr.yaml").write_text(yaml.safe_dump(amr, allow_unicode=True))
    with pytest.raises(CatalogueError, match=r"rules\[0\].matter"):
        load_specs(CATALOGUE, tmp_path)
