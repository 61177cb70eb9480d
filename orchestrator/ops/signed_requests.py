"""What people and OneThing's own processes send to a running application (updates and the
`taken_in` signal) carries a signed header; the worker's interceptor refuses an update and
drops a signal without one, so a plaintext request sent straight to Temporal changes nothing.

The signature (Ed25519, `request_signing_keys`) covers the workflow id, the request's name and
its arguments. The API, `onething ops` and the bridge hold a signing key; the worker holds only
the public keys (`request_verify_keys`). Update validators do not run on replay, so refusing an
update leaves no trace in the history; a dropped signal is, and is gated by a patch, so a
history recorded before keeps the path it took (a run that took an unsigned signal before the
patch takes them until it ends). A signal is checked again when its history replays: keep a
retired public key while a run that received a request signed with it may still replay.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Interceptor as ClientInterceptor,
)
from temporalio.client import (
    OutboundInterceptor,
    SignalWorkflowInput,
    StartWorkflowUpdateInput,
    WorkflowUpdateHandle,
)
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from infra.signing import Signer, Verifier

HEADER = "onething-request"
DROPPED_UNSIGNED_SIGNALS = "dropped-unsigned-signals"  # a patch: histories before keep theirs


def request_bytes(workflow_id: str, name: str, args: Sequence[Any], update_id: str = "") -> bytes:
    """What a request's signature covers: an update's id too, so a signed update sent again is
    the same update (Temporal takes an update id once per run)."""
    plain = [  # a field added later with its default signs as it did before
        arg.model_dump(mode="json", exclude_defaults=True) if isinstance(arg, BaseModel) else arg
        for arg in args
    ]
    document = {"workflow_id": workflow_id, "name": name, "args": plain, "update_id": update_id}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return b"onething request:" + text.encode()


def request_header(
    signer: Signer, workflow_id: str, name: str, args: Sequence[Any], update_id: str = ""
) -> Payload:
    signature = signer.sign(request_bytes(workflow_id, name, args, update_id))
    proof = {"key_id": signer.key_id, "sig": signature}
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(proof).encode())


def proven(
    verifier: Verifier,
    workflow_id: str,
    name: str,
    args: Sequence[Any],
    headers: Mapping[str, Payload],
    update_id: str = "",
) -> bool:
    header = headers.get(HEADER)
    if header is None:
        return False
    try:
        proof = json.loads(header.data)
        key_id, signature = proof["key_id"], proof["sig"]
    except (ValueError, KeyError, TypeError):
        return False
    if not isinstance(key_id, str) or not isinstance(signature, str):
        return False
    return verifier.verify(key_id, request_bytes(workflow_id, name, args, update_id), signature)


class SigningRequests(ClientInterceptor):
    """A client's interceptor: every update and signal it sends is signed."""

    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Signing(next, self._signer)


class _Signing(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, signer: Signer) -> None:
        super().__init__(next)
        self._signer = signer

    async def start_workflow_update(
        self, input: StartWorkflowUpdateInput
    ) -> WorkflowUpdateHandle[Any]:
        input.update_id = input.update_id or str(uuid.uuid4())
        header = request_header(self._signer, input.id, input.update, input.args, input.update_id)
        input.headers = {**input.headers, HEADER: header}
        return await super().start_workflow_update(input)

    async def signal_workflow(self, input: SignalWorkflowInput) -> None:
        header = request_header(self._signer, input.id, input.signal, input.args)
        input.headers = {**input.headers, HEADER: header}
        await super().signal_workflow(input)


class ProvenRequests(Interceptor):
    """The worker's interceptor: an update without OneThing's signature is refused, a signal
    without one is dropped."""

    def __init__(self, verifier: Verifier) -> None:
        self._verifier = verifier

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        verifier = self._verifier

        class Checking(WorkflowInboundInterceptor):
            def handle_update_validator(self, input: HandleUpdateInput) -> None:
                workflow_id = workflow.info().workflow_id
                name, args, headers = input.update, input.args, input.headers
                if not proven(verifier, workflow_id, name, args, headers, update_id=input.id):
                    raise ApplicationError(
                        "refused: the request is not signed by OneThing's API or CLI",
                        type="UnsignedRequest",
                        non_retryable=True,
                    )
                super().handle_update_validator(input)

            async def handle_signal(self, input: HandleSignalInput) -> None:
                workflow_id = workflow.info().workflow_id
                signed = proven(verifier, workflow_id, input.signal, input.args, input.headers)
                if not signed and workflow.patched(DROPPED_UNSIGNED_SIGNALS):
                    workflow.logger.warning("unsigned signal %s dropped", input.signal)
                    return
                await super().handle_signal(input)

        return Checking
