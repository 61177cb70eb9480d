"""The catalogue of one things: schema, loader and validator, forms, and the planner."""

from one_things.contracts import (
    DepartmentContract,
    department_contract,
    export_contracts,
    matters_by_department,
)
from one_things.errors import CatalogueError, CatalogueProblem, UnknownDepartment, UnknownOneThing
from one_things.forms import Applicant, form_model
from one_things.loader import CATALOGUE_DIR, Catalogue, load_catalogue, load_one_thing
from one_things.plan import ExecutionPlan, PlannedTask, SkippedMatter
from one_things.planner import plan
from one_things.schema import FieldType, FormField, Matter, OneThing

__all__ = [
    "CATALOGUE_DIR",
    "Applicant",
    "Catalogue",
    "CatalogueError",
    "CatalogueProblem",
    "DepartmentContract",
    "ExecutionPlan",
    "FieldType",
    "FormField",
    "Matter",
    "OneThing",
    "PlannedTask",
    "SkippedMatter",
    "UnknownDepartment",
    "UnknownOneThing",
    "department_contract",
    "export_contracts",
    "form_model",
    "load_catalogue",
    "load_one_thing",
    "matters_by_department",
    "plan",
]
