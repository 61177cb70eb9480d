"""The workflow's pure decisions, without a server."""

from __future__ import annotations

import pytest
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    RetryState,
    TimeoutError,
    TimeoutType,
)

from events.contracts import Action
from one_things import Applicant, form_model, load_catalogue, plan
from orchestrator.workflow import steps
from orchestrator.workflow.models import TaskState

OPENING = load_catalogue().get("enterprise_opening")
PLAN = plan(
    OPENING,
    Applicant.model_validate(OPENING.example.applicant),
    form_model(OPENING).model_validate(OPENING.example.form),
)


def states(**changed: TaskState) -> dict[str, TaskState]:
    return {t.task_id: changed.get(t.task_id, TaskState.PENDING) for t in PLAN.tasks}


def test_only_tasks_whose_dependencies_are_approved_are_ready() -> None:
    assert [t.task_id for t in steps.ready(PLAN, states())] == ["business_registration"]
    after = states(business_registration=TaskState.APPROVED)
    assert {t.task_id for t in steps.ready(PLAN, after)} == {
        t.task_id for t in PLAN.tasks if t.depends_on == ["business_registration"]
    }
    dispatched = states(business_registration=TaskState.DISPATCHED)
    assert steps.ready(PLAN, dispatched) == []


def test_a_payload_carries_supplements_and_upstream_outputs_or_names_what_is_missing() -> None:
    tax = next(t for t in PLAN.tasks if t.task_id == "tax_registration")
    code = {"business_registration": {"unified_social_credit_code": "91440101MA00000000"}}
    sent = steps.payload(tax, {"note": "x"}, code, {})
    assert sent["unified_social_credit_code"] == "91440101MA00000000" and sent["note"] == "x"
    titles = {"business_registration": "企业设立登记"}
    with pytest.raises(
        steps.MissingUpstream, match="企业设立登记 gave no unified_social_credit_code"
    ):
        steps.payload(tax, {}, {"business_registration": {}}, titles)


def test_an_approval_issues_the_licences_of_document_outputs_to_their_holders() -> None:
    outputs = {
        t.task_id: {o: f"{o}-1" for o in OPENING.matter(t.matter).outputs} for t in PLAN.tasks
    }
    licences = steps.licences_to_issue("ot-1", PLAN, outputs, set(outputs))
    assert {lic.type for lic in licences} >= {"business_licence", "seal_record"}
    business = next(lic for lic in licences if lic.type == "business_licence")
    assert business.data["business_licence_id"] == "business_licence_id-1"
    again = steps.licences_to_issue("ot-1", PLAN, outputs, set(outputs))
    assert again == licences  # ids derive, never random
    refused = set(outputs) - {"seal_engraving"}  # went on without it: no seal record
    partly = steps.licences_to_issue("ot-1", PLAN, outputs, refused)
    assert {lic.type for lic in partly} == {lic.type for lic in licences} - {"seal_record"}


def test_undo_is_void_for_irreversible_matters() -> None:
    registration = next(t for t in PLAN.tasks if t.task_id == "business_registration")
    assert steps.undo_action(registration) is Action.COMPENSATE
    assert steps.undo_action(registration.model_copy(update={"irreversible": True})) is Action.VOID


def test_why_a_dispatch_failed_reads_as_words() -> None:
    def failed(cause: BaseException) -> ActivityError:
        err = ActivityError(
            "activity error",
            scheduled_event_id=1,
            started_event_id=2,
            identity="w",
            activity_type="await_answer",
            activity_id="a",
            retry_state=RetryState.MAXIMUM_ATTEMPTS_REACHED,
        )
        err.__cause__ = cause
        return err

    timed_out = failed(
        TimeoutError("t", type=TimeoutType.SCHEDULE_TO_CLOSE, last_heartbeat_details=[])
    )
    assert steps.why_failed(timed_out) == "no answer from the department within its time limit"
    assert "down" in steps.why_failed(failed(ApplicationError("down")))


def test_the_reason_names_what_could_not_be_undone() -> None:
    assert steps.ending_reason("refused", []) == "refused"
    assert steps.ending_reason("refused", ["a: b"]) == "refused; not undone: a: b"
