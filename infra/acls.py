"""Least privilege on the broker: one principal per party, each allowed only what it uses.

A department reads its own task topic in its own group and writes only dept.results; a portal
writes only onething.applications; each of OneThing's processes reads and writes the topics
its code uses and nothing else. `onething setup --acls` makes these ACLs on a broker that has
an authorizer, and prints them where it has none (the embedded broker).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, SecurityDisabled, for_code
from aiokafka.protocol.admin import CreateAclsRequest

from events import topics
from infra.connections import kafka_options
from infra.settings import Settings

Operation = Literal["Read", "Write", "Describe", "Create"]
Resource = Literal["Topic", "Group"]
# Kafka's wire codes (AclOperation, ResourceType, PatternType, AclPermissionType)
OPERATIONS: dict[str, int] = {"Read": 3, "Write": 4, "Create": 5, "Describe": 8}
RESOURCES: dict[str, int] = {"Topic": 2, "Group": 3}
LITERAL, PREFIXED, ALLOW = 3, 4, 3
BRIDGE_GROUP = "onething-bridge"  # the bridge's app id
INTAKE_GROUP = "onething-intake"


@dataclass(frozen=True)
class Acl:
    """Allow `principal` one operation on one resource (every resource named so, if prefixed)."""

    principal: str
    operation: Operation
    resource: Resource
    name: str
    prefixed: bool = False

    def __str__(self) -> str:
        name = f"{self.name}*" if self.prefixed else self.name
        return f"{self.principal:<28} {self.operation:<16} {self.resource:<8} {name}"


def principal(settings: Settings, party: str) -> str:
    """The broker principal a party connects as: `kafka_principals` names it, else User:<party>."""
    return settings.kafka_principals.get(party, f"User:{party}")


def _grants(who: str, operation: Operation, resource: Resource, *names: str) -> list[Acl]:
    return [Acl(who, operation, resource, name) for name in names]


def _producer(who: str, *written: str) -> list[Acl]:
    """Write on each topic (since Kafka 2.8 it allows the idempotent writes of OneThing's
    producers too; an older broker also needs IdempotentWrite on the cluster)."""
    return _grants(who, "Write", "Topic", *written)


def acls(settings: Settings, departments: Iterable[str], portals: Iterable[str]) -> list[Acl]:
    """Every ACL of a deployment with these departments (catalogue codes) and portals (the
    names of their API keys)."""
    departments = sorted(departments)
    tasks = [topics.department_tasks(d) for d in departments]
    adapted = [topics.department_tasks(d) for d in departments if d not in settings.sim_skip]
    worker = principal(settings, "onething-worker")
    bridge = principal(settings, "onething-bridge")
    adapters = principal(settings, "onething-departments")
    api = principal(settings, "onething-api")
    operator = principal(settings, "onething-operator")
    found = [
        # the worker publishes commands and status events; it consumes nothing
        *_producer(worker, *tasks, topics.STATUS),
        # the bridge takes answers and (as notifier) status events; dead-letters what it refuses
        *_grants(bridge, "Read", "Topic", topics.RESULTS, topics.STATUS),
        *_grants(bridge, "Read", "Group", BRIDGE_GROUP),
        *_producer(bridge, topics.DLQ),
        *(  # the stream processor's own topics, named after its group
            Acl(bridge, operation, "Topic", f"{BRIDGE_GROUP}-", prefixed=True)
            for operation in ("Create", "Read", "Write")
        ),
        # the departments process runs the adapters of the departments that do not consume
        # their topic themselves
        *_grants(adapters, "Read", "Topic", *adapted),
        *_grants(adapters, "Read", "Group", settings.departments_group),
        *_producer(adapters, topics.RESULTS, topics.DLQ),
        # the API takes applications in, tells a follow-up's answer, and reads consumer lag
        *_grants(api, "Read", "Topic", topics.APPLICATIONS),
        *_grants(api, "Read", "Group", INTAKE_GROUP),
        *_producer(api, topics.STATUS, topics.DLQ),
        Acl(api, "Describe", "Topic", "*"),
        Acl(api, "Describe", "Group", "*"),
        # operators read dead letters and send one back to the topic it came from
        *_grants(operator, "Read", "Topic", topics.DLQ),
        *(Acl(operator, "Write", "Topic", p, prefixed=True) for p in ("dept.", "onething.")),
    ]
    for department in departments:
        who = principal(settings, f"dept-{department}")
        found += _grants(who, "Read", "Topic", topics.department_tasks(department))
        found += _grants(who, "Read", "Group", f"dept-{department}")
        found += _producer(who, topics.RESULTS)
    for portal in sorted(portals):
        found += _producer(principal(settings, portal), topics.APPLICATIONS)
    return found


def printed(found: list[Acl]) -> str:
    """The ACLs, one a line, grouped by principal."""
    header = f"{'principal':<28} {'operation':<16} {'resource':<8} name"
    return "\n".join([header, *(str(acl) for acl in sorted(found, key=_by_principal))])


def _by_principal(acl: Acl) -> tuple[str, str, str, str]:
    return (acl.principal, acl.resource, acl.name, acl.operation)


class NoAuthorizer(Exception):
    """The broker keeps no ACLs (it has no authorizer, or does not know the request)."""


async def create(settings: Settings, found: list[Acl]) -> None:
    """Make every ACL on the broker; NoAuthorizer if it keeps none. Making one twice is fine."""
    admin = AIOKafkaAdminClient(**kafka_options(settings))
    await admin.start()
    try:
        for acl in found:
            request = CreateAclsRequest(
                RESOURCES[acl.resource],
                acl.name,
                PREFIXED if acl.prefixed else LITERAL,
                acl.principal,
                "*",
                OPERATIONS[acl.operation],
                ALLOW,
            )
            try:
                response = await admin._send_to_controller(request)
            except KafkaError as exc:
                raise NoAuthorizer(f"the broker does not take ACLs ({type(exc).__name__})") from exc
            for code, message in response.creation_responses:
                if code == SecurityDisabled.errno:
                    raise NoAuthorizer(f"the broker keeps no ACLs (it says: {message})")
                if code:
                    raise for_code(code)(message)
    finally:
        await admin.close()
