"""Requests to a running application are proven by OneThing's signature."""

from __future__ import annotations

from temporalio import workflow

from infra.signing import Signer, Verifier, new_pair
from orchestrator.ops.signed_requests import HEADER, proven, request_header
from orchestrator.workflow.late import LateUndoWorkflow
from orchestrator.workflow.models import Withdrawal
from orchestrator.workflow.workflow import OneThingWorkflow

PRIVATE, PUBLIC = new_pair()
SIGNER = Signer("r1", PRIVATE)
VERIFIER = Verifier({"r1": PUBLIC})


def test_every_update_has_a_validator_so_the_interceptor_sees_it() -> None:
    """The interceptor checks a request's signature in the validator: an update without one
    would be applied unchecked."""
    for workflow_class in (OneThingWorkflow, LateUndoWorkflow):
        definition = workflow._Definition.from_class(workflow_class)
        assert definition is not None
        unchecked = [name for name, u in definition.updates.items() if u.validator is None]
        assert not unchecked, f"{workflow_class.__name__}: {unchecked}"


def test_a_signature_holds_only_for_its_workflow_its_name_and_its_arguments() -> None:
    args = [Withdrawal(reason="申请人要求")]
    headers = {HEADER: request_header(SIGNER, "ot-1", "withdraw", args)}
    assert proven(VERIFIER, "ot-1", "withdraw", args, headers)
    assert not proven(VERIFIER, "ot-2", "withdraw", args, headers)
    assert not proven(VERIFIER, "ot-1", "supplement", args, headers)
    assert not proven(VERIFIER, "ot-1", "withdraw", [Withdrawal(reason="forged")], headers)
    assert not proven(VERIFIER, "ot-1", "withdraw", args, {})
    once = {HEADER: request_header(SIGNER, "ot-1", "withdraw", args, update_id="u1")}
    assert proven(VERIFIER, "ot-1", "withdraw", args, once, update_id="u1")
    assert not proven(VERIFIER, "ot-1", "withdraw", args, once, update_id="u2")  # sent again
    other = Signer("r1", new_pair()[0])
    assert not proven(
        VERIFIER,
        "ot-1",
        "withdraw",
        args,
        {HEADER: request_header(other, "ot-1", "withdraw", args)},
    )
