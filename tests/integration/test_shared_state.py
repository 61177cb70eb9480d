"""The shared state (e-licence library, ratings, file-exchange ledger, leases) on a real
PostgreSQL server, as two replicas see it, and on the embedded default (SQLite)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, delete, inspect, select, update

from adapters.file_exchange import Exchange
from infra import database
from infra.database import audit, licences
from infra.lease import Lease
from infra.sealing import Sealer
from infra.signing import Signer, Verifier, new_pair
from one_things.licences import ELicence
from orchestrator.errors import AlreadyRated
from orchestrator.stores.audit import AuditTrail, GroupCommit, Link
from orchestrator.stores.library import LicenceLibrary
from orchestrator.stores.ratings import Answer, PoorReason, Rating, RatingBook
from tests.postgres import postgres_server

AUDIT_KEY, AUDIT_PUBLIC = new_pair()
VERIFIER = Verifier({"a1": AUDIT_PUBLIC})


LICENCE_KEY, LICENCE_PUBLIC = new_pair()


def library_of(db: Engine, signing: bool = True) -> LicenceLibrary:
    """A library sealed, pseudonymous and signed as a deployment's is."""
    signer = Signer("l1", LICENCE_KEY) if signing else None
    sealer = Sealer({"k1": b"k" * 32}, "k1")
    return LicenceLibrary(db, sealer, b"pseudonym-key", signer, Verifier({"l1": LICENCE_PUBLIC}))


def trail_of(db: Engine, key: str = AUDIT_KEY, key_id: str = "a1") -> AuditTrail:
    return AuditTrail(db, Signer(key_id, key), VERIFIER)


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["postgresql", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres"))
    return database.sqlite_url(tmp_path / "state.sqlite")


def replicas(url: str) -> tuple[Engine, Engine]:
    """Two processes' engines on one database (the process cache would share one)."""
    database.migrate(url)
    first = database.engine(url)
    second = create_engine(url)
    return first, second


def licence(licence_id: str, holder: str, kind: str, issued_on: date) -> ELicence:
    return ELicence(
        id=licence_id,
        type=kind,
        issuer="amr",
        holder=holder,
        issued_on=issued_on,
        content_hash="h" * 64,
        data={"company_name": licence_id},
        application_id="ot-1",
        task_id="business_registration",
    )


def test_a_licence_issued_by_one_replica_is_read_by_another(url: str) -> None:
    first, second = replicas(url)
    writer, reader = library_of(first), library_of(second, signing=False)
    old = licence(f"old-{url[-6:]}", "X", "business_licence", date(2026, 1, 1))
    new = licence(f"new-{url[-6:]}", "X", "business_licence", date(2026, 3, 4))
    other = licence(f"other-{url[-6:]}", "X", "disability_certificate", date(2026, 1, 1))
    writer.issue([old, new, other])
    writer.issue([old])  # kept once
    assert [lic.id for lic in reader.held_by(["X"])] == [new.id, other.id, old.id]
    assert [lic.id for lic in reader.current_of(["X"])] == [new.id, other.id]
    assert reader.current_of(["X"])[0].data == {"company_name": new.id}


def test_one_rating_per_task_whichever_replica_takes_it(url: str) -> None:
    at = datetime(2026, 11, 27, tzinfo=UTC)
    first, second = (RatingBook(e, clock=lambda: at) for e in replicas(url))
    application = f"ot-{url[-6:]}"
    poor = Rating(score=2, reasons=[PoorReason.SLOW])
    due = datetime(2026, 12, 4, tzinfo=UTC)
    opened = first.add(application, "tax_registration", "tax", "tax_registration", poor, at, due)
    assert opened is not None and opened.due_at == due and opened.reasons == [PoorReason.SLOW]
    with pytest.raises(AlreadyRated):
        second.add(application, "tax_registration", "tax", "tax_registration", Rating(score=5), at)
    summary = second.summary()
    assert [(s.department, s.count, s.poor_share) for s in summary] == [("tax", 1, 1.0)]
    assert summary[0].follow_ups == {"open": 1}
    answered = second.answer(application, "tax_registration", Answer(answer="已整改"), "tax")
    assert answered.state(at) == "answered" and answered.answered_by == "tax"
    with pytest.raises(AlreadyRated):
        first.answer(application, "tax_registration", Answer(answer="again"), "tax")


def test_the_file_exchange_ledger_is_one_for_every_replica(url: str, tmp_path: Path) -> None:
    first, second = (Exchange(tmp_path / "mnr", e) for e in replicas(url))
    first.remember("ot-1__deed__handle__1.json", "sent")
    assert second.seen("ot-1__deed__handle__1.json", "sent")
    assert not second.seen("ot-1__deed__handle__1.json", "collected")
    second.remember("ot-1__deed__handle__1.json", "sent")  # once only, without an error


def test_migrations_run_once_and_again_without_change(url: str, tmp_path: Path) -> None:
    fresh = database.sqlite_url(tmp_path / "fresh.sqlite")
    with pytest.raises(database.NotMigrated, match="run `onething setup`"):
        database.engine(fresh)  # a process refuses a database nobody migrated
    database.migrate(url)
    assert database.migrate(url) == (database.NEWEST, database.NEWEST)
    tables = set(inspect(database.engine(url)).get_table_names())
    assert {"licences", "ratings", "files", "leases", "alembic_version"} <= tables


def test_a_licence_library_made_before_migrations_is_kept_in_order(tmp_path: Path) -> None:
    old = tmp_path / "licences.sqlite"
    with sqlite3.connect(old) as connection:
        connection.execute(
            "create table licences (id, type, issuer, holder, issued_on, content_hash, data,"
            " application_id, task_id, revoked integer default 0, primary key (id))"
        )
        connection.execute("create index by_holder_type on licences (holder, type, issued_on)")
        for licence_id in ("first", "second"):
            connection.execute(
                "insert into licences (id, type, issuer, holder, issued_on, content_hash, data,"
                " application_id, task_id)"
                " values (?, 'business_licence', 'amr', 'X', '2026-01-01', ?, ?, 'ot-1', 't')",
                (licence_id, "h" * 64, b'{"company_name": "x"}'),
            )
    assert database.migrate(database.sqlite_url(old)) == (None, database.NEWEST)
    library = library_of(database.engine(database.sqlite_url(old)))
    assert [lic.id for lic in library.held_by(["X"])] == ["second", "first"]
    assert library.current_of(["X"]) == []  # unsigned: listed, never prefills nor skips


def test_a_licence_rests_sealed_and_an_altered_one_is_not_used(url: str) -> None:
    db, _ = replicas(url)
    library = library_of(db)
    holder = f"11010519491231{url[-4:]}"
    kept = licence(f"sealed-{url[-6:]}", holder, "business_licence", date(2026, 5, 1))
    library.issue([kept])
    with db.connect() as connection:
        row = connection.execute(select(licences).where(licences.c.id == kept.id)).mappings().one()
    assert holder not in str(dict(row)) and kept.id in str(dict(row))  # no holder, no data
    [read] = library.current_of([holder])
    assert read.model_dump(exclude={"signature", "signature_key_id"}) == kept.model_dump(
        exclude={"signature", "signature_key_id"}
    )
    someone = f"11010519491231{url[-4:][::-1]}"
    with db.begin() as connection:  # their row put under someone else's pseudonym
        connection.execute(
            update(licences)
            .where(licences.c.id == kept.id)
            .values(holder=library.pseudonym(someone))
        )
    assert library.held_by([someone]) == [] and library.current_of([someone]) == []
    with db.begin() as connection:
        connection.execute(
            update(licences)
            .where(licences.c.id == kept.id)
            .values(holder=library.pseudonym(holder))
        )
    forged = library_of(db)._row(read.model_copy(update={"data": {"company_name": "别人的公司"}}))
    with db.begin() as connection:
        connection.execute(
            update(licences).where(licences.c.id == kept.id).values(data=forged["data"])
        )
    assert library.current_of([holder]) == []  # the signature no longer holds
    assert library.held_by([holder]) == []


def test_a_lease_has_one_holder_until_it_runs_out(url: str) -> None:
    first_db, second_db = replicas(url)
    name = f"file-exchange:mnr-{url[-6:]}"
    first = Lease(first_db, name, "departments-0", seconds=0.3)
    second = Lease(second_db, name, "departments-1", seconds=0.3)
    assert first.hold()
    assert not second.hold()
    time.sleep(0.4)  # the first holder stopped renewing (it died)
    assert second.hold()
    assert not first.hold()


def test_two_replicas_append_one_unbroken_audit_chain(url: str) -> None:
    first, second = replicas(url)
    trails = [trail_of(first), trail_of(second)]

    def append(n: int) -> None:
        trails[n % 2].append("ot-audit", "command", "onething", {"task": f"t{n}", "fields": []})

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(append, range(24)))
    batch: list[Link] = [("answer", "amr", {"task": f"b{n}", "outputs": []}) for n in range(3)]
    trails[0].append_many("ot-audit", batch)  # after the other replica's newest, in one go
    entries = trails[1].entries("ot-audit")
    assert [e.seq for e in entries] == list(range(1, 28))
    assert [e.detail["task"] for e in entries[-3:]] == ["b0", "b1", "b2"]
    assert trails[1].verify("ot-audit") == (27, None)


def test_audit_appends_written_together_keep_every_chain_whole(url: str) -> None:
    first, second = replicas(url)
    grouped, other = GroupCommit(trail_of(first)), trail_of(second)
    applications = ["ot-a", "ot-b", "ot-c"]

    async def answer(n: int) -> None:
        application_id = applications[n % 3]
        if n % 5 == 0:  # another process writes between this one's turns
            await asyncio.to_thread(other.append, application_id, "operator", "op", {"n": n})
        await grouped.append(application_id, [("answer", "amr", {"n": n})])

    async def all_at_once() -> None:
        await asyncio.gather(*(answer(n) for n in range(60)))

    asyncio.run(all_at_once())
    for application_id in applications:
        assert other.verify(application_id) == (24, None)


def test_an_altered_removed_or_forged_audit_entry_is_named(url: str) -> None:
    first, _ = replicas(url)
    trail = trail_of(first)
    for task in ("a", "b", "c"):
        trail.append("ot-tamper", "answer", "amr", {"task": task, "outcome": "approved"})
    altered = '{"outcome":"rejected","task":"b"}'
    with first.begin() as connection:
        connection.execute(update(audit).where(audit.c.seq == 2).values(detail=altered))
    assert trail.verify("ot-tamper") == (1, "entry 2: its content was altered")
    forged = trail_of(first, new_pair()[0])
    forged.append("ot-forged", "answer", "amr", {"task": "a", "outcome": "approved"})
    assert trail.verify("ot-forged")[1] == "entry 1: its signature is not the deployment's"
    with first.begin() as connection:
        connection.execute(delete(audit).where(audit.c.seq == 2))
    assert trail.verify("ot-tamper") == (1, "entry 2 is missing (found 3 next)")


def test_a_trail_cut_short_or_deleted_is_named_by_its_checkpoint(url: str) -> None:
    first, _ = replicas(url)
    trail = trail_of(first)
    application_id = f"ot-cut-{url[-6:]}"
    for task in ("a", "b", "c", "d"):
        trail.append(application_id, "answer", "amr", {"task": task, "outcome": "approved"})
    assert trail.verify(application_id) == (4, None)
    mine = audit.c.application_id == application_id
    with first.begin() as connection:
        connection.execute(delete(audit).where(mine & (audit.c.seq >= 3)))
    assert trail.verify(application_id) == (
        2,
        "it ends at entry 2, but its checkpoint counts 4: entries 3 to 4 were removed",
    )
    trail.append(application_id, "read", "operator", {"what": "audit trail"})  # goes on after 4
    assert trail.verify(application_id) == (2, "entry 3 is missing (found 5 next)")
    with first.begin() as connection:
        connection.execute(delete(audit).where(mine))
    assert trail.verify(application_id) == (
        0,
        "it has no entries, but its checkpoint counts 5: it was deleted",
    )


def test_a_trail_signed_before_a_rotation_verifies_without_the_retired_signing_key(
    url: str,
) -> None:
    first, _ = replicas(url)
    retired, retired_public = new_pair()
    application_id = f"ot-rot-{url[-6:]}"
    AuditTrail(first, Signer("a0", retired), VERIFIER).append(
        application_id, "command", "onething", {"task": "a"}
    )
    rotated = AuditTrail(
        first, Signer("a1", AUDIT_KEY), Verifier({"a0": retired_public, "a1": AUDIT_PUBLIC})
    )
    rotated.append(application_id, "answer", "amr", {"task": "a"})
    assert [e.key_id for e in rotated.entries(application_id)] == ["a0", "a1"]
    assert rotated.verify(application_id) == (2, None)
    assert trail_of(first).verify(application_id) == (
        0,
        "entry 1: signed with key 'a0', unknown here",
    )
