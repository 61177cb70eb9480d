"""Department adapters: the protocol, the runtime, and simulated department systems."""

from adapters.base import DepartmentAdapter, answer
from adapters.runtime import AdapterRuntime
from adapters.simulator import RULES, RejectionRule, SimulatedDepartment

__all__ = [
    "RULES",
    "AdapterRuntime",
    "DepartmentAdapter",
    "RejectionRule",
    "SimulatedDepartment",
    "answer",
]
