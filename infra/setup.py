"""What a cluster needs before the first application: topics, search attributes, a database.

`onething setup` (and `stack up`, on the embedded stack) creates what is missing and leaves
what exists, and migrates the shared database; run it again and it does nothing. It says what
it did.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client

from events import topics
from infra.connections import kafka_options, temporal_options
from infra.settings import Settings
from one_things import load_catalogue

SEARCH_ATTRIBUTES = {
    "OneThing": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "ApplicationStatus": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "PendingDepartments": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    "Escalated": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    "ApplicantRef": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
}


@dataclass
class Done:
    """What a setup created and what it found already there."""

    created: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)


async def create_topics(settings: Settings) -> Done:
    """Every topic the catalogue needs, with the partitions, replication and
    `min.insync.replicas` of the settings; existing topics are left as they are."""
    catalogue = load_catalogue(settings.catalogue_dir)
    names = topics.all_topics(catalogue.departments())
    admin = AIOKafkaAdminClient(**kafka_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        done = Done(present=[n for n in names if n in existing])
        new = [
            NewTopic(
                n,
                settings.kafka_partitions,
                settings.kafka_replication,
                topic_configs={"min.insync.replicas": str(settings.kafka_min_insync_replicas)},
            )
            for n in names
            if n not in existing
        ]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):  # another setup was quicker
                await admin.create_topics(new)
            done.created = [t.name for t in new]
    finally:
        await admin.close()
    return done


async def _connected(settings: Settings, wait: float = 30.0) -> Client:
    """A client, once the server answers (a server just started may not yet)."""
    async with asyncio.timeout(wait):
        while True:
            try:
                return await Client.connect(settings.temporal, **temporal_options(settings))
            except RuntimeError:
                await asyncio.sleep(0.5)


def migrate_databases(settings: Settings) -> Done:
    """Every store's database at the newest migration (one, when they share PostgreSQL)."""
    from infra import database  # SQLAlchemy, only in the processes that keep state

    done = Done()
    for url in dict.fromkeys(database.url_of(settings, store) for store in database.STORES):
        before, now = database.migrate(url)
        where = url.rpartition("@")[2]  # no credentials in what is printed
        (done.present if before == now else done.created).append(f"{where} at {now}")
    return done


async def register_search_attributes(settings: Settings) -> Done:
    """The search attributes operators filter by, in the settings' namespace."""
    client = await _connected(settings)
    namespace = settings.temporal_namespace
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    done = Done(present=[n for n in SEARCH_ATTRIBUTES if n in listed.custom_attributes])
    missing = {n: t for n, t in SEARCH_ATTRIBUTES.items() if n not in listed.custom_attributes}
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
        done.created = list(missing)
    return done
