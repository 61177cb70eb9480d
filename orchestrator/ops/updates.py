"""What people send to a running application (withdrawal, supplement, operator decision):
Temporal updates, so the answer is the workflow's own: taken, or refused and why."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.errors import UpdateRefused

UPDATE_TIMEOUT = timedelta(seconds=8)


async def send(client: Client, application_id: str, name: str, arg: BaseModel) -> str:
    """Send update `name`; its result, or `UpdateRefused` with the workflow's reason.

    An unavailable server (or no worker within `UPDATE_TIMEOUT`) raises what Temporal raised.
    """
    handle = client.get_workflow_handle(application_id)
    try:
        result: str = await handle.execute_update(
            name, arg, result_type=str, rpc_timeout=UPDATE_TIMEOUT
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        raise UpdateRefused(
            cause.message if isinstance(cause, ApplicationError) else str(cause)
        ) from exc
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:  # it ended meanwhile
            raise UpdateRefused("the application has already ended") from exc
        raise
    return result
