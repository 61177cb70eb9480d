"""Test data built one way."""

from __future__ import annotations

from datetime import UTC, datetime

from events import TaskCommand


def task_command(**changes: object) -> TaskCommand:
    """A valid task command (tax registration, first attempt), with some fields changed."""
    fields: dict[str, object] = {
        "application_id": "ot-1",
        "task_id": "tax_registration",
        "attempt": 1,
        "one_thing": "enterprise_opening",
        "matter": "tax_registration",
        "department": "tax",
        "payload": {"company_name": "广州一件事科技有限公司"},
        "deadline": datetime(2026, 11, 26, tzinfo=UTC),
        "reply_token": "dG9rZW4=",
        "trace_id": "run-1",
    }
    return TaskCommand.model_validate({**fields, **changes})
