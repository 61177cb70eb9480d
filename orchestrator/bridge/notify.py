"""Notifications: each status an application enters (onething.status) reaches its applicant
through every configured channel — a webhook per channel (an SMS gateway, app push) —
retried with backoff, and dead-lettered with the reason when a channel never takes it.

A notification names the applicant by their pseudonym (the channel's platform knows whom it
addresses; no personal data leaves here) and carries the event's id as `Idempotency-Key`, so
a redelivered event is one notification at the receiver.

Only a status event OneThing signed reaches anyone: one its status key does not prove is
dead-lettered with the reason and counted (`unproven`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.service import RPCError

from events.contracts import ApplicationStatusChanged
from events.envelope import ENVELOPES, EVENT_TYPES
from infra.logging import get_logger
from infra.message_signing import refusal
from infra.settings import Settings
from orchestrator.workflow.names import APPLICANT_REF

log = get_logger(__name__)
STATUS_TYPE = EVENT_TYPES[ApplicationStatusChanged]
DeadLetter = Callable[[str], Awaitable[None]]


class Notifier:
    def __init__(self, settings: Settings, client: Client, http: httpx.AsyncClient) -> None:
        self._channels = settings.notification_webhooks
        self._attempts = settings.notification_attempts
        self._client = client
        self._http = http
        self._onething = settings.verifier("status")
        self.counters: dict[str, int] = {
            "delivered": 0,
            "retried": 0,
            "dead_lettered": 0,
            "unproven": 0,
        }

    async def notify(self, raw: bytes, dead_letter: DeadLetter) -> None:
        """Deliver one message of onething.status if it is a status change; else nothing."""
        try:
            document = orjson.loads(raw)
            kind = document.get("type")
        except (orjson.JSONDecodeError, AttributeError):
            return  # not ours to judge: the status topic is written by workflows only
        if kind != STATUS_TYPE:
            return
        try:
            event = ENVELOPES[ApplicationStatusChanged].model_validate(document)
        except ValidationError:
            return
        refused = refusal(document["data"], self._onething)
        if refused is not None:
            self.counters["unproven"] += 1
            log.warning("status_event_unproven", why=refused)
            await dead_letter(f"unproven status event: {refused}")
            return
        changed: ApplicationStatusChanged = event.data
        notice = {
            "id": event.id,
            "application_id": changed.application_id,
            "one_thing": changed.one_thing,
            "status": changed.status,
            "reason": changed.reason,
            "at": changed.at.isoformat(),
            "applicant_ref": await self._applicant_ref(changed.application_id),
        }
        await asyncio.gather(
            *(
                self._deliver(channel, url, notice, dead_letter)
                for channel, url in self._channels.items()
            )
        )

    async def _applicant_ref(self, application_id: str) -> str | None:
        try:
            described = await self._client.get_workflow_handle(application_id).describe()
        except RPCError:
            return None
        return described.typed_search_attributes.get(APPLICANT_REF)

    async def _deliver(
        self, channel: str, url: str, notice: dict[str, Any], dead_letter: DeadLetter
    ) -> None:
        delay, why = 0.5, ""
        for attempt in range(1, self._attempts + 1):
            try:
                answer = await self._http.post(
                    url,
                    json={**notice, "channel": channel},
                    headers={"Idempotency-Key": f"{notice['id']}/{channel}"},
                )
                if answer.status_code < 300:
                    self.counters["delivered"] += 1
                    return
                why = f"HTTP {answer.status_code}"
                if 400 <= answer.status_code < 500 and answer.status_code not in (408, 429):
                    break  # the receiver refuses it: trying again changes nothing
            except httpx.HTTPError as exc:
                why = type(exc).__name__
            if attempt < self._attempts:
                self.counters["retried"] += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        self.counters["dead_lettered"] += 1
        log.warning("notification_not_delivered", channel=channel, why=why)
        await dead_letter(f"notification to {channel} not delivered: {why}")
