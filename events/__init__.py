"""Message contracts, the CloudEvents envelope, topic names and schema export."""

from events.contracts import (
    CONTRACTS,
    Action,
    ApplicationStatusChanged,
    Outcome,
    TaskCommand,
    TaskResult,
    TaskStateChanged,
    idempotency_key,
)
from events.envelope import CloudEvent, dumps, loads, wrap

__all__ = [
    "CONTRACTS",
    "Action",
    "ApplicationStatusChanged",
    "CloudEvent",
    "Outcome",
    "TaskCommand",
    "TaskResult",
    "TaskStateChanged",
    "dumps",
    "idempotency_key",
    "loads",
    "wrap",
]
