"""Tracking links: what a portal hands its applicant instead of its own API key.

A link names one application and the portal that asked for it, and works for days
(`tracking_link_days`): it reads that application's progress, rates its ended tasks and
answers its supplements, and nothing else (no withdrawal without the applicant's own
assertion, no uploads, no other application, no listing). It stops working when it expires,
when its application ends, when its portal has no API key any more, and when an operator
revokes the application's links (`onething ops revoke-links`).

It is a JWT signed with a tracking-link key of its own (`tracking_link_keys`, its id in the
header): a link signed with an older key works while that key is listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from pydantic import BaseModel

from infra.settings import Settings

AUDIENCE = "onething-tracking"
PREFIX = "track."  # tells a tracking link from an API key at a glance
PORTAL_ROLES = ("portal", "operator")  # who may give an applicant a link


class LinkRefused(Exception):
    """A tracking link that does not work, and why."""


@dataclass(frozen=True)
class Link:
    """What a valid link names."""

    application_id: str
    portal: str
    issued_at: float


class TrackingLink(BaseModel):
    url: str
    token: str
    expires_at: datetime


class TrackingLinks:
    def __init__(self, settings: Settings) -> None:
        self._keys = settings.secret_key_bytes("tracking_link")
        self._current = settings.tracking_link_key_id
        self._lifetime = timedelta(days=settings.tracking_link_days)
        self._portals = {n for n, k in settings.api_keys.items() if k.role in PORTAL_ROLES}

    def issue(self, application_id: str, portal: str, base_url: str) -> TrackingLink:
        now = datetime.now(UTC)
        expires = now + self._lifetime
        claims = {
            "sub": application_id,
            "portal": portal,
            "aud": AUDIENCE,
            "iat": now.timestamp(),  # to the microsecond: a link given after a revocation works
            "exp": expires,
        }
        token = PREFIX + jwt.encode(
            claims, self._keys[self._current], algorithm="HS256", headers={"kid": self._current}
        )
        return TrackingLink(
            url=f"{base_url}/track/{application_id}#t={token}",
            token=token,
            expires_at=expires.replace(microsecond=0),
        )

    def verify(self, token: str) -> Link:
        """What a valid, unexpired link of a portal with a key names; LinkRefused if not."""
        if not token.startswith(PREFIX):
            raise LinkRefused("not a tracking link")
        token = token.removeprefix(PREFIX)
        try:
            key = self._keys.get(str(jwt.get_unverified_header(token).get("kid")))
            if key is None:
                raise LinkRefused("the tracking link is not valid or has expired")
            claims = jwt.decode(
                token,
                key,
                algorithms=["HS256"],
                audience=AUDIENCE,
                options={"require": ["exp", "iat", "sub", "portal"]},
            )
        except jwt.PyJWTError as exc:
            raise LinkRefused("the tracking link is not valid or has expired") from exc
        portal = str(claims["portal"])
        if portal not in self._portals:
            raise LinkRefused(f"the tracking link's portal {portal!r} has no key here any more")
        return Link(str(claims["sub"]), portal, float(claims["iat"]))
