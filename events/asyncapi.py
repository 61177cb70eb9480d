"""The AsyncAPI 3 document of every topic, generated from the contracts and topic names."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from events import topics
from events.contracts import (
    CONTRACTS,
    Contract,
    DeadLetter,
)
from events.envelope import EVENT_TYPES, STRUCTURED_CONTENT_TYPE


def schema_file(contract: type[Contract]) -> str:
    """The file name of a contract's schema: TaskCommand -> task-command.schema.json."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", contract.__name__).lower() + ".schema.json"


KEY = {"type": "string", "description": "The application id: one application's events in order."}


def _message(contract: type[Contract], cloud_event: bool = True) -> dict[str, Any]:
    doc = (contract.__doc__ or "").strip().splitlines()[0]
    message: dict[str, Any] = {
        "name": contract.__name__,
        "title": contract.__name__,
        "summary": doc,
        "contentType": STRUCTURED_CONTENT_TYPE if cloud_event else "application/json",
        "payload": {"$ref": f"./{schema_file(contract)}"},
        "bindings": {"kafka": {"key": KEY, "bindingVersion": "0.5.0"}},
    }
    if cloud_event:
        message["description"] = (
            f"CloudEvents 1.0, structured mode, `type` = `{EVENT_TYPES[contract]}`, "
            "`subject` = the application id."
        )
    return message


def _ref(path: str) -> dict[str, str]:
    return {"$ref": f"#/{path}"}


def document(
    departments: list[str],
    version: str = "1",
    matters: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """AsyncAPI 3.0 for the topics of the given departments, from a department's side.

    `matters`: per department, the `one_thing/matter` of each matter in the order of its
    contract (`departments/<code>.contract.json`): each department gets a channel of its own
    and each matter a message on `dept.results` for its approved answer, whose schema is in
    that contract.
    """
    own_channels, approved = _per_department(matters or {})
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "OneThing department contracts",
            "version": version,
            "description": (
                "Each department consumes its task commands and answers every attempt with a "
                "task result that echoes application_id, task_id, attempt and reply_token. "
                "A command with an idempotency_key seen before gets the same answer again."
            ),
        },
        "defaultContentType": STRUCTURED_CONTENT_TYPE,
        "channels": {
            "departmentTasks": {
                "address": topics.department_tasks("{department}"),
                "parameters": {
                    "department": {
                        "enum": sorted(departments),
                        "description": "The department code.",
                    }
                },
                "messages": {"taskCommand": _ref("components/messages/TaskCommand")},
            },
            "results": {
                "address": topics.RESULTS,
                "messages": {
                    "taskResult": _ref("components/messages/TaskResult"),
                    **{name: _ref(f"components/messages/{name}") for name in approved},
                },
            },
            "status": {
                "address": topics.STATUS,
                "messages": {
                    "applicationStatusChanged": _ref(
                        "components/messages/ApplicationStatusChanged"
                    ),
                    "taskStateChanged": _ref("components/messages/TaskStateChanged"),
                    "poorRatingReceived": _ref("components/messages/PoorRatingReceived"),
                },
            },
            "applications": {
                "address": topics.APPLICATIONS,
                "messages": {
                    "applicationRequested": _ref("components/messages/ApplicationRequested")
                },
            },
            "deadLetters": {
                "address": topics.DLQ,
                "messages": {"deadLetter": _ref("components/messages/DeadLetter")},
            },
            **own_channels,
        },
        "operations": {
            "receiveTaskCommand": {
                "action": "receive",
                "summary": "A department receives the commands for its matters.",
                "channel": _ref("channels/departmentTasks"),
                "messages": [_ref("channels/departmentTasks/messages/taskCommand")],
            },
            "sendTaskResult": {
                "action": "send",
                "summary": "A department answers every command attempt.",
                "channel": _ref("channels/results"),
                "messages": [_ref("channels/results/messages/taskResult")],
            },
            "receiveStatus": {
                "action": "receive",
                "summary": "Notification services follow applications and tasks.",
                "channel": _ref("channels/status"),
                "messages": [
                    _ref("channels/status/messages/applicationStatusChanged"),
                    _ref("channels/status/messages/taskStateChanged"),
                    _ref("channels/status/messages/poorRatingReceived"),
                ],
            },
            "sendApplication": {
                "action": "send",
                "summary": "A portal submits an application; a repeated request_id starts nothing.",
                "channel": _ref("channels/applications"),
                "messages": [_ref("channels/applications/messages/applicationRequested")],
            },
            "receiveDeadLetter": {
                "action": "receive",
                "summary": "Operators inspect messages that could not be parsed or applied.",
                "channel": _ref("channels/deadLetters"),
                "messages": [_ref("channels/deadLetters/messages/deadLetter")],
            },
        },
        "components": {
            "messages": {
                **{c.__name__: _message(c) for c in CONTRACTS},
                "DeadLetter": _message(DeadLetter, cloud_event=False),
                **approved,
            }
        },
    }


def _per_department(
    matters: Mapping[str, Sequence[str]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A channel per department's task topic, and a message per matter's approved answer."""
    channels: dict[str, Any] = {}
    approved: dict[str, Any] = {}
    for department, keys in sorted(matters.items()):
        contract = f"./departments/{department}.contract.json"
        for index, key in enumerate(keys):
            name = "Approved_" + re.sub(r"\W", "_", f"{department}_{key}")
            approved[name] = {
                "name": name,
                "title": f"{department} approves {key}",
                "summary": f"The `data` of {department}'s approved answer to {key}.",
                "contentType": STRUCTURED_CONTENT_TYPE,
                "payload": {"$ref": f"{contract}#/matters/{index}/approved_answer"},
            }
        channels[f"{department}Tasks"] = {
            "address": topics.department_tasks(department),
            "description": f"{department}'s commands; what it must answer: {contract}.",
            "messages": {"taskCommand": _ref("components/messages/TaskCommand")},
        }
    return channels, approved
