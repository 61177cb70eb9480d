from typing import Any

import pytest
from pydantic import ValidationError

from one_things import Applicant, form_model, load_catalogue, plan
from one_things.graph import critical_path, find_cycle, topological_order
from orchestrator.cli.demo import APPLICATIONS

CATALOGUE = load_catalogue()


def plan_for(label: str, **form_changes: Any):  # type: ignore[no-untyped-def]
    body = next(a.body for a in APPLICATIONS if a.label == label)
    one_thing = CATALOGUE.get(body["one_thing"])
    form = form_model(one_thing).model_validate({**body["form"], **form_changes})
    return plan(one_thing, Applicant.model_validate(body["applicant"]), form)


def test_plan_snapshot_carries_version_and_dag() -> None:
    snapshot = plan_for("enterprise opening")
    assert snapshot.one_thing == "enterprise_opening"
    assert snapshot.catalogue_version == CATALOGUE.get("enterprise_opening").version
    by_id = {t.task_id: t for t in snapshot.tasks}
    assert by_id["business_registration"].depends_on == []
    assert by_id["tax_registration"].depends_on == ["business_registration"]
    assert by_id["tax_registration"].upstream == {
        "unified_social_credit_code": "business_registration.unified_social_credit_code"
    }


def test_each_task_gets_only_its_granted_fields() -> None:
    one_thing = CATALOGUE.get("enterprise_opening")
    for task in plan_for("enterprise opening").tasks:
        granted = set(one_thing.matter(task.matter).inputs)
        assert set(task.payload) <= granted
    hrss = next(t for t in plan_for("enterprise opening").tasks if t.department == "hrss")
    assert set(hrss.payload) == {"company_name", "employee_count", "payroll_certificate_ref"}


def test_applicant_fields_are_granted_by_name() -> None:
    vaccination = next(t for t in plan_for("birth").tasks if t.task_id == "vaccination_certificate")
    assert vaccination.payload["applicant.phone"] == "13900139000"
    assert "applicant.id_number" not in vaccination.payload


def test_a_matter_not_asked_for_is_skipped_and_said_so() -> None:
    snapshot = plan_for("enterprise opening", open_bank_account=False)
    assert "bank_account" not in {t.task_id for t in snapshot.tasks}
    assert [(s.matter, s.reason) for s in snapshot.skipped] == [
        ("bank_account", "not requested (open_bank_account is not set)")
    ]


def test_form_errors_name_the_field() -> None:
    model = form_model(CATALOGUE.get("birth"))
    with pytest.raises(ValidationError) as caught:
        model.model_validate({"baby_name": "李小明", "mother_id": "440106199205120021", "x": 1})
    locations = {e["loc"][0] for e in caught.value.errors()}
    assert {"mother_id", "x", "birth_date"} <= locations


def test_graph_helpers() -> None:
    deps = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}
    assert critical_path({"a": 1.0, "b": 2.0, "c": 0.5, "d": 1.0}, deps) == 4.0
    assert find_cycle(deps) is None
    assert find_cycle({"a": ["b"], "b": ["a"]}) == ["a", "b", "a"]
    order = topological_order({"d": ["b", "c"], "c": ["a"], "b": ["a"], "a": []})
    assert order.index("a") < order.index("b") < order.index("d")


def school_plan(by_social_insurance: bool):  # type: ignore[no-untyped-def]
    school = CATALOGUE.get("school_enrolment")
    body = {**school.example.form, "by_social_insurance": by_social_insurance}
    form = form_model(school).model_validate(body)
    return plan(school, Applicant.model_validate(school.example.applicant), form)


def test_a_place_waits_for_the_social_insurance_check_only_when_it_runs() -> None:
    checked = {t.task_id: t for t in school_plan(True).tasks}
    assert checked["enrolment"].depends_on[-1] == "social_insurance_check"
    assert "insurance_check_ref" not in checked["enrolment"].upstream  # ordering, no data
    unchecked = school_plan(False)
    assert [s.matter for s in unchecked.skipped] == ["social_insurance_check"]
    enrolment = next(t for t in unchecked.tasks if t.task_id == "enrolment")
    assert enrolment.depends_on == ["hukou_check", "housing_check", "vaccination_check"]
