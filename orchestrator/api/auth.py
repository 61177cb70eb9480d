"""API keys with roles: who may call what, and whose applications a portal may see.

`portal` submits and reads the applications it submitted; `operator` may do everything;
`department` reads the catalogue and the forms' schemas only. Keys come from settings
(`ONETHING_API_KEYS`); logs name a key, never show it. With no keys configured the API is
open, for a developer's machine, and says so at start.
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

API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="Your API key.")
BEARER = HTTPBearer(auto_error=False, description="Your API key (the Temporal Web UI sends it so).")


class Role(StrEnum):
    PORTAL = "portal"
    OPERATOR = "operator"
    DEPARTMENT = "department"


class Caller(BaseModel):
    name: str
    role: Role

    def may_see(self, submitted_by: str | None) -> bool:
        """A portal sees what it submitted; every other role that reads, everything."""
        return self.role is not Role.PORTAL or submitted_by == self.name


OPEN = Caller(name="open", role=Role.OPERATOR)


class Keys:
    def __init__(self, settings: Settings) -> None:
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
            found = self.identify(key)
            if found is None:
                raise HTTPException(401, "unknown API key")
            if found.role not in roles:
                raise HTTPException(403, f"the {found.role.value} role may not do this")
            return found

        return caller
