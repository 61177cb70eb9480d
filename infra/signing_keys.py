"""OneThing's own Ed25519 keys, one set per purpose: commands to departments (the worker's),
status events to applicants' channels (the worker's and the API's), the audit trail (every
process that writes it), requests to running applications (the API's, `onething ops`', the
bridge's) and e-licences (the worker's).

For each purpose: `<purpose>_signing_keys` (key id -> private PEM, only where it signs),
`<purpose>_signing_key_id` (the key signing now) and `<purpose>_verify_keys` (key id -> public
PEM, everywhere it is checked; keep retired ids, so what they signed stays verifiable).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from infra.signing import Signer, Verifier

Purpose = Literal["command", "status", "audit", "request", "licence"]
PURPOSES: tuple[Purpose, ...] = ("command", "status", "audit", "request", "licence")


def _private() -> dict[str, SecretStr]:
    return {}


def _public() -> dict[str, str]:
    return {}


class SigningKeys(BaseSettings):
    command_signing_keys: dict[str, SecretStr] = Field(default_factory=_private)
    command_signing_key_id: str = "c1"
    command_verify_keys: dict[str, str] = Field(default_factory=_public)
    status_signing_keys: dict[str, SecretStr] = Field(default_factory=_private)
    status_signing_key_id: str = "s1"
    status_verify_keys: dict[str, str] = Field(default_factory=_public)
    audit_signing_keys: dict[str, SecretStr] = Field(default_factory=_private)
    audit_signing_key_id: str = "a1"
    audit_verify_keys: dict[str, str] = Field(default_factory=_public)
    request_signing_keys: dict[str, SecretStr] = Field(default_factory=_private)
    request_signing_key_id: str = "r1"
    request_verify_keys: dict[str, str] = Field(default_factory=_public)
    licence_signing_keys: dict[str, SecretStr] = Field(default_factory=_private)
    licence_signing_key_id: str = "l1"
    licence_verify_keys: dict[str, str] = Field(default_factory=_public)

    def _private_keys(self, purpose: Purpose) -> dict[str, SecretStr]:
        keys: dict[str, SecretStr] = getattr(self, f"{purpose}_signing_keys")
        return keys

    def signer(self, purpose: Purpose) -> Signer | None:
        """The key that signs `purpose` now, if this process holds it."""
        key_id: str = getattr(self, f"{purpose}_signing_key_id")
        private = self._private_keys(purpose).get(key_id)
        return None if private is None else Signer(key_id, private.get_secret_value())

    def required_signer(self, purpose: Purpose) -> Signer:
        """The key that signs `purpose` now; refused if this process holds none."""
        signer = self.signer(purpose)
        if signer is None:
            raise ValueError(f"no {purpose} signing key (ONETHING_{purpose.upper()}_SIGNING_KEYS)")
        return signer

    def verifier(self, purpose: Purpose) -> Verifier:
        """Every public key of `purpose`, and those of the private keys held here."""
        held = {
            key_id: Signer(key_id, key.get_secret_value()).public_pem()
            for key_id, key in self._private_keys(purpose).items()
        }
        public: dict[str, str] = getattr(self, f"{purpose}_verify_keys")
        return Verifier({**held, **public})

    def signing_key_problems(self) -> list[str]:
        """Signing key ids that name no key held (where some are)."""
        return [
            f"{purpose}_signing_key_id is not in {purpose}_signing_keys"
            for purpose in PURPOSES
            if self._private_keys(purpose)
            and getattr(self, f"{purpose}_signing_key_id") not in self._private_keys(purpose)
        ]
