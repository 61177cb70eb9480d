"""API keys with roles: who may call what, and whose applications a portal may see.

`portal` submits and reads the applications it submitted; `operator` may do everything;
`department` is bound to one department code: it reads the catalogue, and acts only for its
department, on applications with a task of its department (a verdict on a commitment, the
answer to a rating's follow-up, a material through a link signed for it); `tracker` is an
applicant's tracking link (`api.tracking`): one application, read, rate, supplement. Keys come from
settings (`ONETHING_API_KEYS`, or the deployment's key set); logs name a key, never show it.
Without keys the API does not start, unless `ONETHING_INSECURE_OPEN` says it may.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable, Collection
from enum import StrEnum
from typing import Annotated

from fastapi import HTTPException, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from infra.settings import Settings
from orchestrator.api.tracking import PREFIX as TRACKING_PREFIX
from orchestrator.api.tracking import LinkRefused, TrackingLinks

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
    department: str | None = None  # the one department a department key acts for

    def may_see(
        self, application_id: str, submitted_by: str | None, departments: Collection[str]
    ) -> bool:
        """A portal sees what it submitted, a tracking link its application, a department
        an application with a task of its own (`departments`: those of its tasks); operators,
        everything."""
        if self.role is Role.TRACKER:
            return application_id == self.application_id and submitted_by == self.name
        if self.role is Role.DEPARTMENT:
            return self.department in departments
        return self.role is not Role.PORTAL or submitted_by == self.name

    def refuses(self, department: str) -> str:
        """Why this caller may not act for `department`, or '' if it may (operators may)."""
        if self.role is Role.DEPARTMENT and self.department != department:
            return f"the key of {self.department} may not act for {department}"
        return ""


class UnknownKeyDepartment(ValueError):
    """A department key is bound to a code no matter of the catalogue names."""


OPEN = Caller(name="open", role=Role.OPERATOR)


class Keys:
    def __init__(
        self,
        settings: Settings,
        links: TrackingLinks,
        departments: Collection[str],
        revoked_at: Callable[[str], float | None] = lambda _: None,
    ) -> None:
        """`departments`: the catalogue's; a key bound to another code stops the API.
        `revoked_at`: until when an application's tracking links are revoked, if they are."""
        self._links = links
        self._revoked_at = revoked_at
        self._keys = [
            (spec.key, Caller(name=name, role=Role(spec.role), department=spec.department))
            for name, spec in settings.api_keys.items()
        ]
        unknown = sorted(
            f"{name!r} ({spec.department})"
            for name, spec in settings.api_keys.items()
            if spec.department is not None and spec.department not in departments
        )
        if unknown:
            raise UnknownKeyDepartment(
                f"API keys bound to a department the catalogue does not know: {', '.join(unknown)}"
            )

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
            if found is None and key.startswith(TRACKING_PREFIX):
                found = await self._tracker(key)
            if found is None:
                raise HTTPException(401, "unknown API key")
            if found.role not in roles:
                who = "a tracking link" if found.role is Role.TRACKER else f"the {found.role} role"
                raise HTTPException(403, f"{who} may not do this")
            return found

        return caller

    async def _tracker(self, token: str) -> Caller:
        """The applicant's link as a caller; 401 saying why if it does not work."""
        try:
            link = self._links.verify(token)
        except LinkRefused as exc:
            raise HTTPException(401, str(exc)) from exc
        revoked = await asyncio.to_thread(self._revoked_at, link.application_id)
        if revoked is not None and link.issued_at <= revoked:
            raise HTTPException(401, "the tracking link has been revoked")
        return Caller(name=link.portal, role=Role.TRACKER, application_id=link.application_id)
