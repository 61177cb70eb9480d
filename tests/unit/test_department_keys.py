"""A department's API key is bound to its department's code, which the catalogue must know."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from infra import keyset
from infra.api_keys import ApiKey
from infra.settings import Settings
from one_things import load_catalogue
from orchestrator.api.app import create_app
from orchestrator.api.auth import Caller, Role, UnknownKeyDepartment

SECRET = "a-department-secret-0123456789abcdef"


def test_a_department_key_names_its_department_and_no_other_key_does() -> None:
    assert ApiKey(key=SECRET, role="department", department="amr").department == "amr"
    with pytest.raises(ValidationError, match="names its department"):
        ApiKey(key=SECRET, role="department")
    with pytest.raises(ValidationError, match="a portal key names no department"):
        ApiKey(key=SECRET, role="portal", department="amr")
    with pytest.raises(ValidationError, match="pattern"):
        ApiKey(key=SECRET, role="department", department="AMR; tax")


def test_the_api_refuses_a_key_bound_to_a_department_it_does_not_know(tmp_path: Path) -> None:
    keys = {"ghost": {"key": SECRET, "role": "department", "department": "ghost"}}
    with pytest.raises(UnknownKeyDepartment, match=r"'ghost' \(ghost\)") as refused:
        create_app(Settings(state_dir=tmp_path, api_keys=keys))
    assert SECRET not in str(refused.value)


def test_a_deployment_s_key_set_has_a_key_for_each_department(tmp_path: Path) -> None:
    keyset.create_if_missing(tmp_path)
    departments = {
        name: spec.department
        for name, spec in Settings(state_dir=tmp_path).api_keys.items()
        if spec.role == "department"
    }
    codes = load_catalogue().departments()
    assert departments == {f"department-{code}": code for code in codes}


def test_a_department_acts_for_itself_and_sees_applications_with_a_task_of_its_own() -> None:
    tax = Caller(name="department-tax", role=Role.DEPARTMENT, department="tax")
    assert tax.refuses("tax") == ""
    assert tax.refuses("amr") == "the key of tax may not act for amr"
    assert tax.may_see("ot-1", "portal-a", {"tax", "amr"})
    assert not tax.may_see("ot-1", "portal-a", {"amr"})
    operator = Caller(name="operator", role=Role.OPERATOR)
    assert operator.refuses("amr") == "" and operator.may_see("ot-1", "portal-a", ())
