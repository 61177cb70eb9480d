"""The workflow sandbox the worker and the workflow tests run workflows in.

Model code is passed through instead of executed again per run. And payloads are encoded
without asking the sandboxed workflow which serialization context each one belongs to: the
SDK asks once per payload sequence and pass (six passes per activation), each time by
executing a snippet of source inside the sandbox, which compiled it anew; a profile of the
worker running openings one at a time put 20 % of its busy CPU there. Our payload codec and
converter take no context (`check_context_free` makes sure), so every payload gets the
workflow's own context, answered outside the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import (
    DataConverter,
    SerializationContext,
    StorageDriverStoreContext,
    StorageDriverWorkflowInfo,
    WorkflowSerializationContext,
)
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.workflow import Info

# Imported once, not once per workflow run: the models and the saga's own modules. Executing
# them per run took a third of the worker's CPU (a profile of the drain: 31 % in creating
# workflow instances, half of it compiling `workflow.py` again). They hold no state of their
# own and reach time, randomness and I/O only through `temporalio.workflow`;
# `tests/unit/test_architecture.py` keeps I/O libraries out of workflow/ and the replay
# suite catches a non-deterministic change.
PASSED_THROUGH = (
    "pydantic",
    "events",
    "one_things",
    "orchestrator.workflow",
    "orchestrator.errors",
    "opentelemetry",  # the tracing interceptor's, when traces are exported
)


def sandbox() -> SandboxedWorkflowRunner:
    """The workflow sandbox, with immutable model code passed through."""
    restrictions = SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH)
    return ContextFreeSandbox(restrictions=restrictions)


def check_context_free(converter: DataConverter) -> None:
    """Refuse a data converter that would encode a payload by its own serialization context."""
    sample = WorkflowSerializationContext(namespace="any", workflow_id="any")
    if converter.external_storage is not None or converter.with_context(sample) is not converter:
        raise ValueError("the workflow sandbox encodes every payload in the workflow's context")


@dataclass(frozen=True)
class ContextFreeSandbox(SandboxedWorkflowRunner):
    """The SDK's sandbox; its instances answer serialization contexts themselves."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _WorkflowContextOnly(super().create_instance(det), det.info)


class _WorkflowContextOnly(WorkflowInstance):
    def __init__(self, sandboxed: WorkflowInstance, info: Info) -> None:
        self._sandboxed = sandboxed
        self._context = WorkflowSerializationContext(
            namespace=info.namespace, workflow_id=info.workflow_id
        )
        self._store = StorageDriverStoreContext(
            target=StorageDriverWorkflowInfo(
                id=info.workflow_id,
                run_id=info.run_id,
                type=info.workflow_type,
                namespace=info.namespace,
            )
        )

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        return self._sandboxed.activate(act)

    def get_serialization_context(self, command_info: object) -> SerializationContext:
        return self._context

    def get_external_store_context(self, command_info: object) -> StorageDriverStoreContext:
        return self._store

    def get_info(self) -> Info:
        return self._sandboxed.get_info()

    def get_thread_id(self) -> int | None:
        return self._sandboxed.get_thread_id()
