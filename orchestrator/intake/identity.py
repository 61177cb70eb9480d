"""Who the applicant is, as the province's identity provider vouches (real-name authentication).

A portal that submits, lists or reads e-licences for a person sends the identity provider's
signed assertion of that person: a JWT whose `sub` is their identity key, verified here
against `identity_key` (or the key its `kid` names in the provider's JWKS,
`identity_jwks_url`). An identity key is a resident ID's or a credit code's number as it is,
`HK_MACAO_PERMIT:<number>` or `TAIWAN_PERMIT:<number>` for a permit, and
`PASSPORT:<nationality>:<number>` for a passport (`one_things.forms.identity_key`): a passport
and a permit with the same number are two people. Whom the person may act for rides in the
claim `represents` ({identity key: "legal_representative" | "agent"}): the provider knows an
enterprise's legal representative from its registration, and an agent from the authorisation
the principal gave it (法人/个人授权).
Nothing personal is answered for anyone no assertion names or entitles.

An assertion is good for the portal it was issued to (`azp`, that portal's API key name), for
at most 15 minutes (`exp` - `iat`), and once (`jti`, kept until it expires).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from infra.settings import Settings
from one_things.forms import ActingAs, Applicant
from orchestrator.errors import NotAuthenticated
from orchestrator.stores.spent import SpentAssertions

if TYPE_CHECKING:
    from jwt import PyJWKClient

ASSERTION_HEADER = "X-Applicant-Assertion"
ASYMMETRIC = ["EdDSA", "ES256", "RS256"]
SYMMETRIC = ["HS256"]
LONGEST = timedelta(minutes=15)  # the most an assertion may live, from `iat` to `exp`
REQUIRED = ["sub", "exp", "iat", "iss", "aud", "azp", "jti"]


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

    def __init__(
        self,
        settings: Settings,
        spent: SpentAssertions | None = None,
        jwks_refresh_seconds: float = 30,
    ) -> None:
        """`jwks_refresh_seconds`: the least time between two fetches of the provider's keys
        for a `kid` not known yet (a key just rotated in)."""
        key = settings.identity_key.get_secret_value() if settings.identity_key else None
        self._key = key
        self._algorithms = ASYMMETRIC if key and key.startswith("-----BEGIN") else SYMMETRIC
        self._jwks_url = settings.identity_jwks_url
        self._jwks: PyJWKClient | None = None
        self._jwks_refresh = jwks_refresh_seconds
        self._issuer = settings.identity_issuer
        self._audience = settings.identity_audience
        self._settings = settings
        self._spent = spent

    def vouch(self, assertion: str | None, portal: str, use: str | None = None) -> Vouched:
        """Whom the assertion `portal` presents vouches for, and for whom they act; spends it
        (for `use`: the same use again is no second use). NotAuthenticated if none."""
        claims = self.verified(assertion, portal)
        represents = claims.get("represents") or {}
        try:
            acts = {str(k).strip().upper(): ActingAs(v) for k, v in dict(represents).items()}
        except (TypeError, ValueError) as exc:
            raise NotAuthenticated(f"applicant assertion refused: represents: {exc}") from exc
        if not self._spent_store().spend(str(claims["jti"]), use, float(claims["exp"])):
            raise NotAuthenticated("applicant assertion refused: its jti was used before")
        return Vouched(str(claims["sub"]).strip().upper(), acts)

    def verified(self, assertion: str | None, portal: str) -> dict[str, Any]:
        """The claims of a valid assertion issued for `portal`, not spending it."""
        if not assertion:
            raise NotAuthenticated(f"an applicant assertion is needed (header {ASSERTION_HEADER})")
        import jwt  # only where assertions are read: the worker never does (10 MiB)

        try:
            key, algorithms = self._key_for(assertion)
            claims: dict[str, Any] = jwt.decode(
                assertion,
                key,
                algorithms=algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": REQUIRED},
            )
        except jwt.PyJWTError as exc:
            raise NotAuthenticated(f"applicant assertion refused: {exc}") from exc
        if claims["azp"] != portal:
            raise NotAuthenticated(
                f"applicant assertion refused: it was issued for {claims['azp']!r}, "
                f"not for {portal!r} (azp)"
            )
        if float(claims["exp"]) - float(claims["iat"]) > LONGEST.total_seconds():
            raise NotAuthenticated(
                "applicant assertion refused: it lives longer than 15 minutes (exp - iat)"
            )
        return claims

    def _key_for(self, assertion: str) -> tuple[Any, list[str]]:
        """The provider's key for the assertion: the configured one, or its `kid`'s in the JWKS."""
        if self._jwks_url is not None:
            if self._jwks is None:
                from jwt import PyJWKClient

                self._jwks = PyJWKClient(
                    self._jwks_url,
                    cache_keys=True,
                    timeout=5,
                    cooldown_duration=self._jwks_refresh,
                )
            return self._jwks.get_signing_key_from_jwt(assertion).key, ASYMMETRIC
        if self._key is None:
            raise NotAuthenticated("this deployment has no identity provider key")
        return self._key, self._algorithms

    def _spent_store(self) -> SpentAssertions:
        if self._spent is None:
            self._spent = SpentAssertions.of(self._settings)
        return self._spent

    def check_applicant(
        self, assertion: str | None, applicant: Applicant, portal: str, use: str | None = None
    ) -> Vouched:
        """Whom the assertion vouches for, if it is who submits for the applicant: the
        applicant, or the representative the applicant's record entitles to act for them."""
        vouched = self.vouch(assertion, portal, use)
        if vouched.subject != applicant.actor:
            raise NotAuthenticated("the applicant assertion names someone else")
        acting = applicant.representative
        if acting is not None and vouched.represents.get(applicant.key) != acting.acting_as:
            raise NotAuthenticated(
                f"the identity provider does not know them as the applicant's {acting.acting_as}"
            )
        return vouched


def issue_assertion(
    settings: Settings,
    id_number: str,
    *,
    portal: str,
    minutes: float = 5,
    represents: dict[str, ActingAs] | None = None,
) -> str:
    """An assertion for `portal` (its API key's name), signed by the development identity
    provider (`make demo`, tests)."""
    if settings.identity_signing_key is None:
        raise NotAuthenticated("no development identity provider key (identity_signing_key)")
    key = settings.identity_signing_key.get_secret_value()
    now = datetime.now(UTC)
    claims = {
        "sub": id_number,
        "iss": settings.identity_issuer,
        "aud": settings.identity_audience,
        "azp": portal,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
        **({"represents": {k: v.value for k, v in represents.items()}} if represents else {}),
    }
    algorithm = "EdDSA" if key.startswith("-----BEGIN") else "HS256"
    import jwt

    return jwt.encode(claims, key, algorithm=algorithm)


def assertion_for(settings: Settings, applicant: Applicant, portal: str) -> str:
    """What the development identity provider tells `portal` of whoever submits for
    `applicant`: the representative, known to act for the applicant as they claim (`make
    demo`, tests)."""
    acting = applicant.representative
    if acting is None:
        return issue_assertion(settings, applicant.key, portal=portal)
    return issue_assertion(
        settings,
        acting.key,
        portal=portal,
        represents={applicant.key: acting.acting_as},
    )
