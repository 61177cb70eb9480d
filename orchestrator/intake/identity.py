"""Who the applicant is, as the province's identity provider vouches (real-name authentication).

A portal that submits, lists or reads e-licences for a person sends the identity provider's
signed assertion of that person: a JWT whose `sub` is their resident ID number, verified here
against `identity_key`. Nothing personal is answered for a person no assertion names.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from infra.settings import Settings
from orchestrator.errors import NotAuthenticated

ASSERTION_HEADER = "X-Applicant-Assertion"
ASYMMETRIC = ["EdDSA", "ES256", "RS256"]
SYMMETRIC = ["HS256"]


class IdentityVerifier:
    """Verifies applicant assertions; returns whom they name."""

    def __init__(self, settings: Settings) -> None:
        key = settings.identity_key.get_secret_value() if settings.identity_key else None
        self._key = key
        self._algorithms = ASYMMETRIC if key and key.startswith("-----BEGIN") else SYMMETRIC
        self._issuer = settings.identity_issuer
        self._audience = settings.identity_audience

    def subject(self, assertion: str | None) -> str:
        """The ID number the assertion vouches for; NotAuthenticated says why not."""
        if not assertion:
            raise NotAuthenticated(f"an applicant assertion is needed (header {ASSERTION_HEADER})")
        if self._key is None:
            raise NotAuthenticated("this deployment has no identity provider key")
        try:
            claims = jwt.decode(
                assertion,
                self._key,
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["sub", "exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise NotAuthenticated(f"applicant assertion refused: {exc}") from exc
        return str(claims["sub"]).strip().upper()

    def check_applicant(self, assertion: str | None, id_number: str) -> str:
        """The subject, if it is the applicant named in a request."""
        subject = self.subject(assertion)
        if subject != id_number.strip().upper():
            raise NotAuthenticated("the applicant assertion names someone else")
        return subject


def issue_assertion(settings: Settings, id_number: str, minutes: float = 10) -> str:
    """An assertion signed by the development identity provider (`make demo`, tests)."""
    if settings.identity_signing_key is None:
        raise NotAuthenticated("no development identity provider key (identity_signing_key)")
    key = settings.identity_signing_key.get_secret_value()
    now = datetime.now(UTC)
    claims = {
        "sub": id_number,
        "iss": settings.identity_issuer,
        "aud": settings.identity_audience,
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
    }
    algorithm = "EdDSA" if key.startswith("-----BEGIN") else "HS256"
    return jwt.encode(claims, key, algorithm=algorithm)
