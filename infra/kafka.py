"""Kafka clients configured one way: acks=all, idempotent producers that heal, consumers with
static membership, paced fetches.

Static membership (KIP-345): each consumer joins its group as `<group>.<instance id>`, so a
process restarted after a crash takes its partitions back at once. Without it, a member killed
without leaving is waited for until the broker expires it; the embedded broker never expires
one, so a group with a dead member would never rebalance again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.consumer.fetcher import Fetcher
from aiokafka.errors import KafkaError

from infra.connections import kafka_options
from infra.logging import get_logger
from infra.settings import Settings

log = get_logger(__name__)
Headers = list[tuple[str, bytes]] | None
# Batches of JSON events shrink (5,000 identical status-event-sized records: 2.52 → 0.15 MB on
# the embedded broker, whose cost grows with the data it keeps; varied events shrink less);
# zlib is in the standard library.
COMPRESSION = "gzip"


class Received(NamedTuple):
    """Where a consumed message came from, with its key and headers: enough to dead-letter it
    as it came, and to replay it so."""

    topic: str
    partition: int
    offset: int
    key: bytes | None = None
    headers: Headers = None

    @classmethod
    def of(cls, record: ConsumerRecord) -> Received:
        return cls(record.topic, record.partition, record.offset, record.key, list(record.headers))


def _new_producer(settings: Settings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **kafka_options(settings),
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
        request_timeout_ms=10_000,
        compression_type=COMPRESSION,
    )


class Producer:
    """An idempotent producer that heals.

    After a broker restart the broker may no longer know the producer's id and sequence
    numbers (`OutOfOrderSequenceNumber`, `UnknownProducerId`), and an aiokafka producer never
    recovers from that by itself. A send that fails is tried again, on a new producer, until
    `patience` seconds have passed.
    """

    def __init__(self, settings: Settings, patience: float = 8.0) -> None:
        self._settings = settings
        self._patience = patience
        self._producer = _new_producer(settings)
        self._renewing = asyncio.Lock()
        self.renewals = 0

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def reachable(self) -> None:
        """Raise unless the broker answers a metadata request now."""
        await self._producer.client.fetch_all_metadata()

    async def send(
        self, topic: str, value: bytes, key: bytes | None = None, headers: Headers = None
    ) -> None:
        """Send and wait for the broker's acknowledgement; raise after `patience` seconds."""
        await self.send_in_order(topic, [(key, value)], headers)

    async def send_in_order(
        self, topic: str, records: Sequence[tuple[bytes | None, bytes]], headers: Headers = None
    ) -> None:
        """Send (key, value) records in their order, in as few requests as the producer's
        batches hold, and wait for every acknowledgement; if one fails, all are sent again on
        a new producer (a record may then arrive twice, never out of order), until `patience`
        seconds have passed."""
        deadline = time.monotonic() + self._patience
        delay = 0.1
        while True:
            current = self._producer
            try:
                sent = [
                    await current.send(topic, value, key=key, headers=headers)
                    for key, value in records
                ]
                for outcome in await asyncio.gather(*sent, return_exceptions=True):
                    if isinstance(outcome, BaseException):
                        raise outcome
                return
            except KafkaError as exc:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("kafka_send_retrying", topic=topic, error=type(exc).__name__)
                await self._renew(current)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def send_until_taken(
        self, topic: str, value: bytes, key: bytes | None = None, headers: Headers = None
    ) -> None:
        """Send until the broker takes it, however long it is away: for what must never be
        dropped (a department's answer, a dead letter)."""
        delay = 0.5
        while True:
            try:
                await self.send(topic, value, key=key, headers=headers)
                return
            except KafkaError as exc:
                log.warning("not_published_yet", topic=topic, error=type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _renew(self, failed: AIOKafkaProducer) -> None:
        """Replace `failed` by a new producer, once, however many sends saw it fail."""
        async with self._renewing:
            if self._producer is not failed:
                return
            fresh = _new_producer(self._settings)
            try:
                await fresh.start()
            except KafkaError:
                with contextlib.suppress(Exception):
                    await fresh.stop()
                return  # the broker is still away: the next failure tries again
            self._producer = fresh
            self.renewals += 1
            log.info("kafka_producer_renewed", renewals=self.renewals)
        with contextlib.suppress(Exception):
            await failed.stop()


def producer(settings: Settings, patience: float = 8.0) -> Producer:
    return Producer(settings, patience)


def consumer(settings: Settings, *topics: str, group_id: str, **options: Any) -> AIOKafkaConsumer:
    """A consumer of `group_id` with a static member id; offsets committed by the caller."""
    return AIOKafkaConsumer(
        *topics,
        **kafka_options(settings),
        group_id=group_id,
        group_instance_id=f"{group_id}.{settings.instance_id}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **options,
    )


def pace_fetches(settings: Settings) -> None:
    """Keep fetch requests of one consumer apart: `kafka_fetch_pacing_ms` while records come,
    doubling with every empty fetch up to `kafka_idle_fetch_pacing_ms` (on the embedded
    broker only, unless `kafka_pace_fetches` says otherwise).

    Apache Kafka holds an empty fetch for fetch.max.wait.ms; a broker that answers at once
    (the embedded one does) makes every idle consumer spin — measured here at about 4,000
    fetches and 60 % of a core per consumer. Paced at 10 ms, busy or idle, the deployment's
    idle consumers (one per process) take 15 % of a core in all; backing off to 25 ms when idle
    saved a third of that but added 8 ms at p50 to every hop through an idle consumer.
    """
    busy = settings.kafka_fetch_pacing_ms / 1000 if settings.paces_fetches else 0.0
    idle = max(settings.kafka_idle_fetch_pacing_ms / 1000, busy)
    original = getattr(Fetcher, "_unpaced_proc_fetch_request", Fetcher._proc_fetch_request)
    if busy <= 0:
        Fetcher._proc_fetch_request = original
        return

    async def paced(self: Fetcher, *args: Any) -> Any:
        started = time.monotonic()
        before = dict(self._records)
        needs_wakeup = await original(self, *args)
        if needs_wakeup:  # hand the records over now; only the next fetch waits
            for waiter in self._fetch_waiters:
                self._notify(waiter)
        fetched = any(before.get(tp) is not result for tp, result in self._records.items())
        empties = 0 if fetched else getattr(self, "_empty_fetches", 0) + 1
        self._empty_fetches = empties
        interval = min(busy * 2 ** min(empties, 16), idle) if empties else busy
        try:
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
        except asyncio.CancelledError:
            return False  # as the original does when cancelled: the fetch is of no interest
        return needs_wakeup

    Fetcher._unpaced_proc_fetch_request = original
    Fetcher._proc_fetch_request = paced
