"""API keys with roles: who may call what, and whose applications a portal may see.

`portal` submits and reads the applications it submitted; `operator` may do everything;
`department` reads the catalogue and the forms' schemas only; `tracker` is an applicant's
tracking link (`api.tracking`): one application, read, rate, supplement. Keys come from
settings (`ONETHING_API_KEYS`, or the deployment's key set); logs name a key, never show it.
Without keys the API does not start, unless `ONETHING_INSECURE_OPEN` says it may.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated

from fastapi import HTTPException, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from infra.settings import Settings
from orchestrator.api.tracking import PREFIX as TRACKING_PREFIX
from orchestrator.api.tracking import TrackingLinks

API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="Your API key.")
BEARER = HTTPBearer(auto_error=False, description="Your API key (the Temporal Web UI sends it so).")


class Role(StrEnum):
    PORTAL = "portal"
    OPERATOR = "operator"
    DEPARTMENT = "department"
    TRACKER = "tracker"


class Caller(BaseModel):
    name: str
    role: Role
    application_id: str | None = None  # a tracking link's one application

    def may_see(self, application_id: str, submitted_by: str | None) -> bool:
        """A portal sees what it submitted, a tracking link its application; operators and
        departments, everything."""
        if self.role is Role.TRACKER:
            return application_id == self.application_id and submitted_by == self.name
        return self.role is not Role.PORTAL or submitted_by == self.name


OPEN = Caller(name="open", role=Role.OPERATOR)


class Keys:
    def __init__(self, settings: Settings, links: TrackingLinks) -> None:
        self._links = links
        self._keys = [
            (spec.key, Caller(name=name, role=Role(spec.role)))
            for name, spec in settings.api_keys.items()
        ]

    @property
    def open(self) -> bool:
        return not self._keys

    def identify(self, key: str) -> Caller | None:
        found = None
        for secret, caller in self._keys:  # compare every key, in constant time
            if hmac.compare_digest(secret.encode(), key.encode()):
                found = caller
        return found

    def allow(self, *roles: Role) -> Callable[[str | None], Awaitable[Caller]]:
        """A FastAPI dependency: the caller, if its key has one of `roles`; else 401 or 403."""

        async def caller(
            key: str | None = Security(API_KEY),
            bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
        ) -> Caller:
            key = key or (bearer.credentials if bearer else None)
            if self.open:
                return OPEN
            if not key:
                raise HTTPException(401, "an API key is needed (header X-API-Key)")
            found = self.identify(key) or self._tracker(key)
            if found is None:
                if key.startswith(TRACKING_PREFIX):
                    raise HTTPException(401, "the tracking link is not valid or has expired")
                raise HTTPException(401, "unknown API key")
            if found.role not in roles:
                who = "a tracking link" if found.role is Role.TRACKER else f"the {found.role} role"
                raise HTTPException(403, f"{who} may not do this")
            return found

        return caller

    def _tracker(self, token: str) -> Caller | None:
        link = self._links.verify(token)
        if link is None:
            return None
        application_id, portal = link
        return Caller(name=portal, role=Role.TRACKER, application_id=application_id)
