"""Settings, logging, and the embedded stack (Temporal dev server, Kafka-protocol broker)."""

from infra.errors import InfraError, LoopEnded, StackError
from infra.settings import Settings
from infra.stack import EmbeddedStack, create_topics
from infra.supervisor import Supervisor, free_port, port_open

__all__ = [
    "EmbeddedStack",
    "InfraError",
    "LoopEnded",
    "Settings",
    "StackError",
    "Supervisor",
    "create_topics",
    "free_port",
    "port_open",
]
