"""Settings, logging, and the embedded stack (Temporal dev server, Kafka-protocol broker)."""

from infra.errors import InfraError, LoopEnded, StackError
from infra.settings import Settings
from infra.stack import EmbeddedStack
from infra.supervisor import Supervisor, free_port, port_open

__all__ = [
    "EmbeddedStack",
    "InfraError",
    "LoopEnded",
    "Settings",
    "StackError",
    "Supervisor",
    "free_port",
    "port_open",
]
