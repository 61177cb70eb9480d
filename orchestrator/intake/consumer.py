"""Asynchronous intake: applications published on onething.applications start exactly once.

The workflow id derives from the message's request id and its CloudEvent source (as from an
`Idempotency-Key` and an API key), so a duplicate starts nothing; the source names the portal,
as its API key's name does. A message that does not parse, names an unknown one thing, carries an
invalid form or reuses a request id for another request goes to onething.dlq with the reason.
The applicant's assertion comes sealed (`intake.sealed`) and is opened only to be verified.
An offset is committed once its message has started an application or been dead-lettered.
"""

from __future__ import annotations

import asyncio
import contextlib

import orjson
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from temporalio.service import RPCError

from events import topics
from events.contracts import ApplicationRequested, without_values
from events.envelope import loads
from events.proof import request_signing_bytes
from infra import kafka
from infra.logging import get_logger
from infra.sealing import Sealer
from infra.settings import Settings
from infra.signing import Verifier
from one_things import UnknownOneThing
from orchestrator.client import unavailable
from orchestrator.errors import InvalidApplicant, InvalidForm, NotAuthenticated, RequestConflict
from orchestrator.intake.sealed import open_assertion
from orchestrator.intake.service import Intake, SubmitApplication

log = get_logger(__name__)
GROUP = "onething-intake"


class IntakeConsumer:
    def __init__(self, settings: Settings, intake: Intake, producer: kafka.Producer) -> None:
        self._intake = intake
        self._producer = producer
        self._portals = settings.api_keys
        self._request_keys = {
            portal: Verifier(keys) for portal, keys in settings.portal_request_keys.items()
        }
        self._sealer = Sealer.of(settings)
        self.consumer = kafka.consumer(settings, topics.APPLICATIONS, group_id=GROUP)

    async def start(self) -> None:
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()

    async def run(self) -> None:
        async for record in self.consumer:
            try:
                await self._take(record)
            except Exception:  # one message never stops the intake: keep it, go on
                log.exception("application_request_not_taken", offset=record.offset)
                await self._dead_letter(record, "the request could not be taken in")
            with contextlib.suppress(KafkaError):  # committed with the next one instead
                await self.consumer.commit()

    async def _take(self, record: ConsumerRecord) -> None:
        try:
            event = loads(record.value, ApplicationRequested)
            request = event.data
            body = SubmitApplication.model_validate(
                request.model_dump(include={"one_thing", "applicant", "form", "materials"})
            )
        except (ValidationError, orjson.JSONDecodeError, ValueError, TypeError) as exc:
            why = without_values(exc.errors()) if isinstance(exc, ValidationError) else exc
            await self._dead_letter(record, f"invalid application request: {why}")
            return
        unproven = self._unproven(event.source, request)
        if unproven:
            await self._dead_letter(record, f"refused: {unproven}")
            return
        while True:
            try:
                assertion = open_assertion(self._sealer, request.sealed_assertion)
                started = await self._intake.start(
                    body, request.request_id, event.source, assertion=assertion
                )
            except (UnknownOneThing, RequestConflict, NotAuthenticated, InvalidApplicant) as exc:
                await self._dead_letter(record, f"refused: {exc}")
                return
            except InvalidForm as exc:
                await self._dead_letter(record, f"invalid form: {without_values(exc.errors)}")
                return
            except RPCError as exc:
                if not unavailable(exc):
                    await self._dead_letter(record, f"refused by Temporal: {exc.status.name}")
                    return
                log.warning("intake_retrying", offset=record.offset)  # keep it, try again
                await asyncio.sleep(1)
                continue
            log.info("application_taken_in", application_id=started.id, replayed=started.replayed)
            return

    def _unproven(self, source: str, request: ApplicationRequested) -> str | None:
        """Why the request is not proven to come from the portal its source names, if not."""
        portal = self._portals.get(source)
        if portal is None or portal.role not in ("portal", "operator"):
            return f"{source!r} is not a portal of ours"
        verifier = self._request_keys.get(source)
        if verifier is None:
            return f"{source!r} has no request key (ONETHING_PORTAL_REQUEST_KEYS)"
        signed = request_signing_bytes(source, request.model_dump(mode="json"))
        if not verifier.verify(request.signature_key_id, signed, request.signature):
            return f"the request is not signed by {source!r}'s request key"
        return None

    async def _dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        letter = self._sealer.dead_letter(
            reason, record.value, record.topic, record.partition, record.offset
        )
        received = kafka.Received.of(record)
        await self._producer.send_until_taken(
            topics.DLQ, letter.encode(), received.key, received.headers
        )
        log.warning("application_dead_lettered", offset=record.offset)
