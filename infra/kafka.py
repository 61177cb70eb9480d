"""Kafka clients configured one way: acks=all and the idempotent producer."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from infra.settings import Settings


def producer(settings: Settings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka,
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
    )
