"""An applicant assertion on its way over onething.applications: sealed under OneThing's
payload keys (`POST /v1/sealed-assertions` seals it for the portal), so no bearer assertion,
nor the ID number in it, rests in clear on the topic; the intake opens it and verifies it as
it would the header."""

from __future__ import annotations

import base64
import binascii

from infra.sealing import Sealer, Unsealable
from orchestrator.errors import NotAuthenticated


def seal_assertion(sealer: Sealer, assertion: str) -> str:
    """`<key id>.<base64 of nonce and ciphertext>`, under the current payload key."""
    sealed = base64.b64encode(sealer.seal(assertion.encode())).decode()
    return f"{sealer.current}.{sealed}"


def open_assertion(sealer: Sealer, sealed: str | None) -> str | None:
    """The assertion a sealed one holds (None if none); NotAuthenticated if it cannot be
    opened here."""
    if sealed is None:
        return None
    key_id, _, body = sealed.rpartition(".")
    try:
        return sealer.open(key_id, base64.b64decode(body, validate=True)).decode()
    except (Unsealable, binascii.Error, UnicodeDecodeError) as exc:
        raise NotAuthenticated("the sealed applicant assertion cannot be opened here") from exc
