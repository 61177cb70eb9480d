"""Reply tokens: which waiting activity a department's answer completes, and what the plan
expects of that answer.

A token names the workflow run and the `await_answer` activity of one dispatch, the
department it was sent to, its action and attempt, and the outputs an approval must carry;
it is signed with one of OneThing's reply keys (its id rides in the token), so the bridge
trusts what it says. Each dispatch waits in an activity of its own id: an answer to a
dispatch that is over finds no activity and is never applied twice.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from events.contracts import Action
from events.proof import prove, proven
from orchestrator.errors import InvalidReplyToken

VERSION = "r1"


class Claims(BaseModel):
    """What a reply token says (short names: it rides on every command and answer)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    w: str  # workflow id: the application's, or a late undo's
    r: str  # run id
    a: str  # id of the activity awaiting the answer
    d: str  # the department the command was sent to
    x: Action  # the command's action
    n: int  # the command's attempt
    o: list[str]  # the outputs an approval must carry, no more, no fewer
    k: str  # the id of the reply key that signed the token
    p: str | None = None  # the application id, when the workflow is not the application's

    @property
    def task_id(self) -> str:
        return self.a.split(":")[0]

    @property
    def application_id(self) -> str:
        return self.p or self.w


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(claims: Claims, key: bytes) -> str:
    """`r1.<key id>.<claims>.<signature>`: a department reads the key id from it."""
    signed = f"{claims.k}.{_b64(orjson.dumps(claims.model_dump(mode='json', exclude_none=True)))}"
    return f"{VERSION}.{signed}.{prove(key, signed.encode())}"


def verify(token: str, keys: Mapping[str, bytes]) -> Claims:
    """The claims of a token one of `keys` signed; `InvalidReplyToken` for anything else."""
    try:
        version, key_id, body, signature = token.split(".")
        claims = Claims.model_validate_json(_unb64(body))
    except (ValueError, binascii.Error, ValidationError) as exc:
        raise InvalidReplyToken("the reply token is not one of ours") from exc
    key = keys.get(key_id)
    signed = f"{key_id}.{body}".encode()
    if (
        version != VERSION
        or key is None
        or claims.k != key_id
        or not proven(key, signed, signature)
    ):
        raise InvalidReplyToken("the reply token is not one of ours: its signature does not hold")
    return claims
