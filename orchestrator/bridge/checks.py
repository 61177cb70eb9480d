"""A department's answer checked against the dispatch it answers, before a workflow sees it:
who answers (the department the task was sent to, proven by its own key), which dispatch
(application, task, attempt), and what (an approval carries every declared output, no other,
each a short string; an undo is answered as an undo)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from events.contracts import Action, Outcome, TaskResult
from events.proof import result_signing_bytes
from infra.signing import Verifier
from orchestrator.workflow.reply import Claims

LONGEST_OUTPUT = 256
UNDO_ANSWERS = {Outcome.COMPENSATED, Outcome.REJECTED, Outcome.FAILED, Outcome.ACCEPTED}


class Refusal(NamedTuple):
    """Why an answer is not taken; `fails_task`: the dispatch fails (it is sent again)."""

    reason: str
    fails_task: bool


def check(
    result: TaskResult, claims: Claims, answer_keys: Mapping[str, Verifier]
) -> Refusal | None:
    """None if the answer may complete its dispatch; else why not. `answer_keys`: per
    department, the public keys its answers are proven with."""
    if result.department != claims.d:
        return Refusal(f"answered as {result.department}; the task was sent to {claims.d}", False)
    if (result.application_id, result.task_id, result.attempt) != (
        claims.application_id,
        claims.task_id,
        claims.n,
    ):
        return Refusal("the answer names another dispatch than its reply token", False)
    if not _proven(result, answer_keys.get(claims.d)):
        return Refusal(f"the answer is not proven to come from {claims.d}", False)
    if claims.x is not Action.HANDLE:
        if result.outcome not in UNDO_ANSWERS:
            return Refusal(f"{result.outcome.value} does not answer a {claims.x.value}", True)
        return None
    if result.outcome is Outcome.COMPENSATED:
        return Refusal("compensated does not answer a handle command", True)
    if result.outcome is Outcome.APPROVED:
        missing = sorted(set(claims.o) - set(result.outputs))
        if missing:
            return Refusal(f"approved without {', '.join(missing)}", True)
        extra = sorted(set(result.outputs) - set(claims.o))
        if extra:
            return Refusal(f"approved with outputs the matter does not declare: {extra}", True)
    if any(len(value) > LONGEST_OUTPUT for value in result.outputs.values()):
        return Refusal(f"an output longer than {LONGEST_OUTPUT} characters", True)
    return None


def _proven(result: TaskResult, keys: Verifier | None) -> bool:
    if keys is None:
        return False
    signed = result_signing_bytes(result.model_dump(mode="json"))
    return keys.verify(result.proof_key_id, signed, result.proof)
