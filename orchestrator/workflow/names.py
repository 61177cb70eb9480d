"""Names the workflow shares with its activities, clients and operators: never rename one."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

WORKFLOW = "OneThingWorkflow"
LATE_UNDO_WORKFLOW = "LateUndoWorkflow"  # undoes an approval that came too late

# activities
AWAIT_ANSWER = "await_answer"
PUBLISH_COMMAND = "publish_command"  # one command: histories recorded before batching
PUBLISH_COMMANDS = "publish_commands"
PUBLISH_EVENTS = "publish_events"
ISSUE_LICENCES = "issue_licences"
START_PROACTIVE = "start_proactive"

# A new run starts on REVISION, recorded in its input: from revision 1 it takes every change
# below with no marker (each marker also upserts TemporalChangeVersion: two billed actions a
# run), keeps its search attributes once per workflow task and sends what changed in a
# dispatching workflow task with its commands. A run of revision 0 keeps the patches' paths.
# From revision 2 a command that neither an answer nor a receipt followed is sent again.
# From revision 3 an approval's e-licences are kept within the workflow task that approves.
# From revision 4 what changes while a run is approved is announced and indexed with the approval.
# From revision 5 an undo names the act (the outputs and the department's reference), not the
# applicant's data again.
REVISION = 5

# patches: a running history keeps the code path it was recorded with
BATCHED_DISPATCH = "batched-dispatch"  # one activity publishes a workflow task's commands
STATUS_EVENTS = "status-events"  # every status the application enters is announced

# query and updates
PROGRESS = "progress"
PLANNED_TASK = "planned_task"  # a query: the plan snapshot of one task
PLAN_CALENDAR = "plan_calendar"  # a query: the working days the plan counts limits on
WITHDRAW = "withdraw"
SUPPLEMENT = "supplement"
SUPPLY_MATERIAL = "supply_material"
COMMITMENT_BROKEN = "commitment_broken"
OPERATOR = "operator"
TAKEN_IN = "taken_in"  # a signal: a department took a task in, no decision yet

# search attributes: never a name or an ID number
ONE_THING = SearchAttributeKey.for_keyword("OneThing")
APPLICATION_STATUS = SearchAttributeKey.for_keyword("ApplicationStatus")
PENDING_DEPARTMENTS = SearchAttributeKey.for_keyword_list("PendingDepartments")
ESCALATED = SearchAttributeKey.for_bool("Escalated")
APPLICANT_REF = SearchAttributeKey.for_keyword("ApplicantRef")  # an HMAC, never the ID number


def late_undo_id(application_id: str, task_id: str, attempt: int) -> str:
    """The late-undo workflow of one late approval: one per dispatch answered too late."""
    return f"late:{application_id}:{task_id}:{attempt}"
