"""Names the workflow shares with its activities, clients and operators: never rename one."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

WORKFLOW = "OneThingWorkflow"

# activities
AWAIT_ANSWER = "await_answer"
PUBLISH_COMMAND = "publish_command"
PUBLISH_EVENTS = "publish_events"
ISSUE_LICENCES = "issue_licences"
START_PROACTIVE = "start_proactive"

# query and updates
PROGRESS = "progress"
WITHDRAW = "withdraw"
SUPPLEMENT = "supplement"
OPERATOR = "operator"
TAKEN_IN = "taken_in"  # a signal: a department took a task in, no decision yet

# search attributes: never a name or an ID number
ONE_THING = SearchAttributeKey.for_keyword("OneThing")
APPLICATION_STATUS = SearchAttributeKey.for_keyword("ApplicationStatus")
PENDING_DEPARTMENTS = SearchAttributeKey.for_keyword_list("PendingDepartments")
ESCALATED = SearchAttributeKey.for_bool("Escalated")
APPLICANT_REF = SearchAttributeKey.for_keyword("ApplicantRef")  # an HMAC, never the ID number
