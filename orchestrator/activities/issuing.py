"""The activity that keeps an approved application's e-licences in the library."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio import activity

from one_things.licences import ELicence, content_hash
from orchestrator.stores.library import LicenceLibrary
from orchestrator.workflow.models import IssueLicences
from orchestrator.workflow.names import ISSUE_LICENCES


class LicenceActivities:
    """Keeps the e-licences of approved applications in the e-licence library."""

    def __init__(self, library: LicenceLibrary) -> None:
        self._library = library

    @activity.defn(name=ISSUE_LICENCES)
    async def issue_licences(self, inp: IssueLicences) -> None:
        today = datetime.now(UTC).date()
        issued = [
            ELicence(
                id=lic.id,
                type=lic.type,
                issuer=lic.issuer,
                holder=lic.holder,
                issued_on=today,
                content_hash=content_hash(lic.type, lic.issuer, lic.holder, lic.data),
                data=lic.data,
                application_id=inp.application_id,
                task_id=lic.task_id,
            )
            for lic in inp.licences
        ]
        await asyncio.to_thread(self._library.issue, issued)  # the worker's loop never waits
