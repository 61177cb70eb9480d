"""Errors of the infrastructure, one root.

InfraError
├── StackError    the embedded stack or a service could not be started or stopped
└── LoopEnded     a consumer loop ended while its process should run: restart it
"""


class InfraError(RuntimeError):
    """Root of every error `infra` raises."""


class StackError(InfraError):
    """The embedded stack or a service could not be started or stopped."""


class LoopEnded(InfraError):
    """A loop that should run until the process stops ended: the process must restart."""
