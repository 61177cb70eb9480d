"""Department adapters: the protocol, the runtime, and simulated department systems."""

from adapters.base import DepartmentAdapter, answer
from adapters.runtime import AdapterRuntime

__all__ = ["AdapterRuntime", "DepartmentAdapter", "answer"]
