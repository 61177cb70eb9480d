"""Keys that serve one purpose each: payloads at rest, reply tokens, tracking links, material
links and departments' answers.

None derives from another or from a master key, so one leaked value forges one kind of thing.
Every map is key id -> key, with the id new material uses: rotation adds an id, and what was
signed with an older one stays verifiable while its id is listed.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from infra.signing import Verifier

Secret = Literal["reply", "tracking_link", "material_link"]  # HMAC keys, one purpose each
SECRETS: tuple[Secret, ...] = ("reply", "tracking_link", "material_link")
# development only: a deployment made by `onething up` has its own keys (infra/keyset.py)
DEVELOPMENT_PAYLOAD_KEY = base64.b64encode(b"onething-development-payload-key").decode()


class PurposeKeys(BaseSettings):
    reply_keys: dict[str, SecretStr] = Field(
        default_factory=lambda: {"dev": SecretStr("onething-development-only-reply-key")},
        description="Key id -> secret that signs reply tokens (and nothing else). Keep old "
        "ids while commands signed with them may still be answered.",
    )
    reply_key_id: str = Field(
        default="dev", description="The reply key new tokens are signed with."
    )
    payload_keys: dict[str, SecretStr] = Field(
        default_factory=lambda: {"dev": SecretStr(DEVELOPMENT_PAYLOAD_KEY)},
        description="Key id -> AES-256 key (base64, 32 bytes) encrypting workflow payloads in "
        "Temporal. Keep old ids while payloads encrypted with them may be read.",
    )
    payload_key_id: str = Field(default="dev", description="The key new payloads use.")
    tracking_link_keys: dict[str, SecretStr] = Field(
        default_factory=lambda: {"dev": SecretStr("onething-development-only-tracking-key")},
        description="Key id -> secret (HMAC) signing applicants' tracking links. Keep an old "
        "id while links signed with it should still work.",
    )
    tracking_link_key_id: str = Field(default="dev", description="The key new links use.")
    material_link_keys: dict[str, SecretStr] = Field(
        default_factory=lambda: {"dev": SecretStr("onething-development-only-material-key")},
        description="Key id -> secret (HMAC) signing departments' links to materials.",
    )
    material_link_key_id: str = Field(default="dev", description="The key new links use.")
    department_answer_keys: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Department code -> key id -> the Ed25519 public key (PEM) its answers "
        "are proven with (`onething department-keys CODE` makes a pair; the department keeps "
        "the private key). An answer is taken only if a key of the department its task was "
        "sent to proves it. Keep an old id while answers signed with it may come.",
    )
    portal_request_keys: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Portal (its API key's name) -> key id -> the Ed25519 public key (PEM) its "
        "requests on onething.applications are signed with; the portal keeps the private key, "
        "and its API key never signs.",
    )
    department_signing_keys: dict[str, dict[str, SecretStr]] = Field(
        default_factory=dict,
        description="The departments process's only: department code -> key id -> Ed25519 "
        "private key (PEM) of each department it answers for (simulated, HTTP, file "
        "exchange). The id listed last signs.",
    )

    def payload_key_bytes(self) -> dict[str, bytes]:
        keys = {}
        for kid, key in self.payload_keys.items():
            try:
                keys[kid] = base64.b64decode(key.get_secret_value(), validate=True)
            except binascii.Error:
                raise ValueError(f"payload_keys[{kid}] is not base64") from None
        return keys

    def secret_key_bytes(self, purpose: Secret) -> dict[str, bytes]:
        """An HMAC purpose's keys by id, as bytes."""
        keys: dict[str, SecretStr] = getattr(self, f"{purpose}_keys")
        return {kid: key.get_secret_value().encode() for kid, key in keys.items()}

    def purpose_key_problems(self) -> list[str]:
        """Key ids that name no key."""
        found = []
        for purpose in ("payload", *SECRETS):
            if getattr(self, f"{purpose}_key_id") not in getattr(self, f"{purpose}_keys"):
                found.append(f"{purpose}_key_id is not in {purpose}_keys")
        found += [
            f"department_signing_keys[{code}] has no key"
            for code, keys in self.department_signing_keys.items()
            if not keys
        ]
        return found

    def answer_signing_key(self, department: str) -> tuple[str, str] | None:
        """(key id, private PEM) a department's answers are signed with here: its last id."""
        keys = self.department_signing_keys.get(department)
        if not keys:
            return None
        key_id, pem = list(keys.items())[-1]
        return key_id, pem.get_secret_value()

    def answer_verifiers(self) -> dict[str, Verifier]:
        """Per department, the public keys its answers are checked with."""
        return {code: Verifier(keys) for code, keys in self.department_answer_keys.items()}
