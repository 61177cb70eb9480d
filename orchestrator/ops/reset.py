"""Reset (Temporal's reset): a workflow stuck on a bug, once the fix is deployed, is taken
back to its last good point — its last completed workflow task, exclusive — and runs on from
there on today's code, in a new run; signals and updates after that point are kept."""

from __future__ import annotations

import uuid

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.errors import UpdateRefused


async def reset_to_last_good(client: Client, workflow_id: str, reason: str) -> tuple[str, int]:
    """Reset the workflow's newest run; (the new run's id, the event it was reset to).

    Raises UpdateRefused when there is no such workflow or no point to go back to.
    """
    handle = client.get_workflow_handle(workflow_id)
    try:
        described = await handle.describe()
        history = await handle.fetch_history()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            raise UpdateRefused(f"no application {workflow_id!r}") from exc
        raise
    completed = [
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]
    if not completed:
        raise UpdateRefused("no workflow task has completed: there is no good point to go back to")
    answer = await client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=described.run_id),
            reason=reason,
            workflow_task_finish_event_id=completed[-1],
            request_id=str(uuid.uuid4()),
        )
    )
    return answer.run_id, completed[-1]
