"""Topic names, in one place. Every message is keyed by its application id."""

APPLICATIONS = "onething.applications"
RESULTS = "dept.results"
STATUS = "onething.status"
DLQ = "onething.dlq"


def department_tasks(department: str) -> str:
    """The topic a department's adapter consumes its task commands from."""
    return f"dept.{department}.tasks"


def all_topics(departments: list[str]) -> list[str]:
    """Every topic the orchestrator needs, for the given departments."""
    return [department_tasks(d) for d in sorted(departments)] + [APPLICATIONS, RESULTS, STATUS, DLQ]


def key(application_id: str) -> bytes:
    """The message key: one application's events stay in one partition, in order."""
    return application_id.encode()
