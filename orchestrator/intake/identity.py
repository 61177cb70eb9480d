"""Who the applicant is, as the province's identity provider vouches (real-name authentication).

A portal that submits, lists or reads e-licences for a person sends the identity provider's
signed assertion of that person: a JWT whose `sub` is their ID number, verified here against
`identity_key`. Whom the person may act for rides in the claim `represents` ({ID number or
credit code: "legal_representative" | "agent"}): the provider knows an enterprise's legal
representative from its registration, and an agent from the authorisation the principal gave
it (法人/个人授权). Nothing personal is answered for anyone no assertion names or entitles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from infra.settings import Settings
from one_things.forms import ActingAs, Applicant
from orchestrator.errors import NotAuthenticated

ASSERTION_HEADER = "X-Applicant-Assertion"
ASYMMETRIC = ["EdDSA", "ES256", "RS256"]
SYMMETRIC = ["HS256"]


@dataclass(frozen=True)
class Vouched:
    """Whom an assertion names, and whom they may act for, and how."""

    subject: str
    represents: dict[str, ActingAs] = field(default_factory=dict)

    def holders(self) -> list[str]:
        """Whose applications and e-licences they may read: their own and their principals'."""
        return [self.subject, *sorted(self.represents)]


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
        return self.vouch(assertion).subject

    def vouch(self, assertion: str | None) -> Vouched:
        """Whom the assertion vouches for, and for whom they act; NotAuthenticated if none."""
        if not assertion:
            raise NotAuthenticated(f"an applicant assertion is needed (header {ASSERTION_HEADER})")
        if self._key is None:
            raise NotAuthenticated("this deployment has no identity provider key")
        import jwt  # only where assertions are read: the worker never does (10 MiB)

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
        represents = claims.get("represents") or {}
        try:
            acts = {str(k).strip().upper(): ActingAs(v) for k, v in dict(represents).items()}
        except (TypeError, ValueError) as exc:
            raise NotAuthenticated(f"applicant assertion refused: represents: {exc}") from exc
        return Vouched(str(claims["sub"]).strip().upper(), acts)

    def check_applicant(self, assertion: str | None, applicant: Applicant) -> Vouched:
        """Whom the assertion vouches for, if it is who submits for the applicant: the
        applicant, or the representative the applicant's record entitles to act for them."""
        vouched = self.vouch(assertion)
        if vouched.subject != applicant.actor:
            raise NotAuthenticated("the applicant assertion names someone else")
        acting = applicant.representative
        if acting is not None and vouched.represents.get(applicant.id_number) != acting.acting_as:
            raise NotAuthenticated(
                f"the identity provider does not know them as the applicant's {acting.acting_as}"
            )
        return vouched


def issue_assertion(
    settings: Settings,
    id_number: str,
    minutes: float = 10,
    represents: dict[str, ActingAs] | None = None,
) -> str:
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
        **({"represents": {k: v.value for k, v in represents.items()}} if represents else {}),
    }
    algorithm = "EdDSA" if key.startswith("-----BEGIN") else "HS256"
    import jwt

    return jwt.encode(claims, key, algorithm=algorithm)


def assertion_for(settings: Settings, applicant: Applicant) -> str:
    """What the development identity provider says of whoever submits for `applicant`: the
    representative, known to act for the applicant as they claim (`make demo`, tests)."""
    acting = applicant.representative
    if acting is None:
        return issue_assertion(settings, applicant.id_number)
    return issue_assertion(
        settings, acting.id_number, represents={applicant.id_number: acting.acting_as}
    )
