"""Reply tokens: which waiting activity a department's result completes.

A token names the workflow run and the `await_answer` activity of one dispatch, so the
results bridge completes that activity by id. Each dispatch waits in an activity of its own
id: a result for a dispatch that is over finds no activity and is never applied twice.
"""

from __future__ import annotations

import base64
import binascii
from typing import NamedTuple

from orchestrator.errors import InvalidReplyToken


class Waiting(NamedTuple):
    workflow_id: str
    run_id: str
    activity_id: str


def encode(waiting: Waiting) -> str:
    return base64.urlsafe_b64encode("\n".join(waiting).encode()).decode()


def decode(token: str) -> Waiting:
    try:
        parts = base64.urlsafe_b64decode(token.encode()).decode().split("\n")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidReplyToken("the reply token is not one of ours") from exc
    if len(parts) != 3 or not all(parts):
        raise InvalidReplyToken("the reply token is not one of ours")
    return Waiting(*parts)
