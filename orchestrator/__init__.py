"""The orchestrator: workflow, activities, worker, results bridge, intake API and CLI."""

from orchestrator.models import (
    ApplicationInput,
    ApplicationStatus,
    DispatchTask,
    Progress,
    TaskAnswer,
    TaskProgress,
    TaskState,
)
from orchestrator.workflows import OneThingWorkflow

__all__ = [
    "ApplicationInput",
    "ApplicationStatus",
    "DispatchTask",
    "OneThingWorkflow",
    "Progress",
    "TaskAnswer",
    "TaskProgress",
    "TaskState",
]
