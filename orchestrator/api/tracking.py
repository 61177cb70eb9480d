"""Tracking links: what a portal hands its applicant instead of its own API key.

A link names one application and works until it expires: it reads that application's
progress, rates its ended tasks and answers its supplements, and nothing else (no
withdrawal, no other application, no listing). It is a JWT signed with a key derived from
OneThing's current reply key (its id in the header), so reply-key rotation rotates it too.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import jwt
from pydantic import BaseModel

from infra.settings import Settings

AUDIENCE = "onething-tracking"
PREFIX = "track."  # tells a tracking link from an API key at a glance


class TrackingLink(BaseModel):
    url: str
    token: str
    expires_at: datetime


class TrackingLinks:
    def __init__(self, settings: Settings) -> None:
        self._keys = {
            kid: hmac.new(secret, b"tracking-links", hashlib.sha256).digest()
            for kid, secret in settings.reply_key_bytes().items()
        }
        self._current = settings.reply_key_id
        self._lifetime = timedelta(days=settings.tracking_link_days)

    def issue(self, application_id: str, portal: str, base_url: str) -> TrackingLink:
        expires = datetime.now(UTC) + self._lifetime
        claims = {"sub": application_id, "portal": portal, "aud": AUDIENCE, "exp": expires}
        token = PREFIX + jwt.encode(
            claims, self._keys[self._current], algorithm="HS256", headers={"kid": self._current}
        )
        return TrackingLink(
            url=f"{base_url}/track/{application_id}#t={token}",
            token=token,
            expires_at=expires.replace(microsecond=0),
        )

    def verify(self, token: str) -> tuple[str, str] | None:
        """(application id, portal) of a valid, unexpired link; None for anything else."""
        if not token.startswith(PREFIX):
            return None
        token = token.removeprefix(PREFIX)
        try:
            key = self._keys.get(str(jwt.get_unverified_header(token).get("kid")))
            if key is None:
                return None
            claims = jwt.decode(
                token, key, algorithms=["HS256"], audience=AUDIENCE, options={"require": ["exp"]}
            )
        except jwt.PyJWTError:
            return None
        return str(claims["sub"]), str(claims["portal"])
