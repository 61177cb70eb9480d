"""The audit trail (留痕): every exchange with a department and every operator action, appended
to a hash-chained log per application.

Each entry carries the hash of the one before it and an Ed25519 signature of its own hash
under an audit key (named by its id), so an entry altered, removed or inserted afterwards
breaks the chain where it happened: `onething audit verify ID` names the first broken entry.
Every append also signs the trail's checkpoint (its entry count and head), kept in a table of
its own: entries cut from the end, or a whole trail deleted, leave a checkpoint that names
them. Verifying needs only the public keys, which outlive rotation. Entries name fields,
never their values (no personal data in the trail).
Appends from several processes (the worker sends commands, the bridge takes answers, the API
records operators) serialise on the (application, seq) key: a writer that loses the race
reads the new head and tries again.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from contextlib import ExitStack
from datetime import UTC, datetime

import orjson
from pydantic import BaseModel, Field, JsonValue
from sqlalchemy import Connection, Engine, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from infra import database
from infra.database import audit, audit_checkpoints
from infra.settings import Settings
from infra.signing import Signer, Verifier

GENESIS = "0" * 64
APPEND_TRIES = 20
LOCK_STRIPES = 64  # appends to one application from this process take turns

Link = tuple[str, str, dict[str, JsonValue]]  # kind, actor, detail
_NEWEST = (  # built once: appends are on the path of every dispatch and every answer
    select(audit.c.application_id, func.max(audit.c.seq).label("seq"))
    .where(audit.c.application_id.in_(bindparam("ids", expanding=True)))
    .group_by(audit.c.application_id)
    .subquery()
)
HEADS = select(audit.c.application_id, audit.c.seq, audit.c.hash).join(
    _NEWEST, (audit.c.application_id == _NEWEST.c.application_id) & (audit.c.seq == _NEWEST.c.seq)
)

CHECKPOINTS = select(
    audit_checkpoints.c.application_id, audit_checkpoints.c.count, audit_checkpoints.c.head
).where(audit_checkpoints.c.application_id.in_(bindparam("ids", expanding=True)))


class AuditEntry(BaseModel):
    """One link of an application's chain."""

    application_id: str
    seq: int = Field(ge=1)
    at: datetime
    kind: str = Field(description="command, undo, answer or operator.")
    actor: str = Field(description="Who acted: onething, a department, an operator's key.")
    detail: dict[str, JsonValue]
    prev: str = Field(description="The hash of the entry before it (zeros for the first).")
    hash: str
    key_id: str
    sig: str

    def content_hash(self) -> str:
        document = self.model_dump(mode="json", exclude={"hash", "key_id", "sig"})
        return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


class Checkpoint(BaseModel):
    """How long an application's trail is and what its newest entry is, signed."""

    application_id: str
    count: int = Field(ge=1)
    head: str
    at: datetime
    key_id: str
    sig: str

    def signed_bytes(self) -> bytes:
        return checkpoint_bytes(self.application_id, self.count, self.head)


def checkpoint_bytes(application_id: str, count: int, head: str) -> bytes:
    document = {"application_id": application_id, "count": count, "head": head}
    return b"onething audit checkpoint:" + orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


class AuditTrail:
    def __init__(self, db: Engine, signer: Signer | None, verifier: Verifier) -> None:
        """`signer` may be None where the trail is only read and verified."""
        self._db = db
        self._signer = signer
        self._verifier = verifier
        self._locks = [threading.Lock() for _ in range(LOCK_STRIPES)]

    @property
    def _signing(self) -> Signer:
        if self._signer is None:
            raise RuntimeError("this process holds no audit signing key: it may only verify")
        return self._signer

    def append(
        self, application_id: str, kind: str, actor: str, detail: dict[str, JsonValue]
    ) -> AuditEntry:
        """Append an entry after the application's newest; raise if the chain stays contended."""
        return self.append_many(application_id, [(kind, actor, detail)])[0]

    def append_many(self, application_id: str, links: list[Link]) -> list[AuditEntry]:
        """Append entries (kind, actor, detail) in order after the application's newest."""
        return self.append_groups({application_id: links})[application_id]

    def append_groups(self, groups: dict[str, list[Link]]) -> dict[str, list[AuditEntry]]:
        """Append each application's entries after its newest, all in one transaction.
        The heads are read in one query; if another writer moves on before the insert, it
        collides on (application, seq) and the heads are read again."""
        stripes = sorted({self._stripe(application_id) for application_id in groups})
        with ExitStack() as held:
            for stripe in stripes:  # in order: two writers never wait on each other
                held.enter_context(self._locks[stripe])
            for _ in range(APPEND_TRIES):
                try:
                    with self._db.begin() as connection:  # all rows or, rolled back, none
                        heads = self._heads(connection, list(groups))
                        written = {
                            a: self._chain(a, heads[a], links) for a, links in groups.items()
                        }
                        rows = [self._row(e) for entries in written.values() for e in entries]
                        connection.execute(insert(audit), rows)
                        self._checkpoint(connection, written)
                except IntegrityError:  # another writer took a seq: read again
                    continue
                return written
        raise RuntimeError(f"the audit trails of {sorted(groups)} stayed contended")

    def _checkpoint(self, connection: Connection, written: dict[str, list[AuditEntry]]) -> None:
        """Sign each trail's new (count, head) and keep it in place of the one before."""
        now = datetime.now(UTC).isoformat()
        rows = []
        for application_id, entries in written.items():
            if not entries:
                continue
            newest = entries[-1]
            signed = checkpoint_bytes(application_id, newest.seq, newest.hash)
            rows.append(
                {
                    "application_id": application_id,
                    "count": newest.seq,
                    "head": newest.hash,
                    "at": now,
                    "key_id": self._signing.key_id,
                    "sig": self._signing.sign(signed),
                }
            )
        if not rows:
            return
        upsert = database.upserting(audit_checkpoints, self._db)
        connection.execute(
            upsert.on_conflict_do_update(
                index_elements=[audit_checkpoints.c.application_id],
                set_={
                    name: upsert.excluded[name] for name in ("count", "head", "at", "key_id", "sig")
                },
            ),
            rows,
        )

    @staticmethod
    def _heads(connection: Connection, application_ids: list[str]) -> dict[str, tuple[int, str]]:
        """The newest entry's (seq, hash) of each application; (0, GENESIS) if it has none.
        Read, not remembered: the worker and the bridge take turns on one chain, so a head
        this process wrote last was stale at nearly every append (one failed transaction
        per application in each, measured over 100 openings)."""
        rows = connection.execute(HEADS, {"ids": application_ids})
        found = {row.application_id: (row.seq, row.hash) for row in rows}
        for row in connection.execute(CHECKPOINTS, {"ids": application_ids}):
            if row.count > found.get(row.application_id, (0, GENESIS))[0]:
                # entries were cut from the end: go on from what the checkpoint vouches for,
                # so the gap stays visible instead of being written over
                found[row.application_id] = (row.count, row.head)
        return {a: found.get(a, (0, GENESIS)) for a in application_ids}

    def _chain(
        self, application_id: str, head: tuple[int, str], links: list[Link]
    ) -> list[AuditEntry]:
        entries: list[AuditEntry] = []
        seq, prev = head
        for kind, actor, detail in links:
            seq += 1
            entries.append(self._entry(application_id, seq, prev, kind, actor, detail))
            prev = entries[-1].hash
        return entries

    def _stripe(self, application_id: str) -> int:
        return hash(application_id) % len(self._locks)

    def _entry(
        self,
        application_id: str,
        seq: int,
        prev: str,
        kind: str,
        actor: str,
        detail: dict[str, JsonValue],
    ) -> AuditEntry:
        entry = AuditEntry(
            application_id=application_id,
            seq=seq,
            at=datetime.now(UTC),
            kind=kind,
            actor=actor,
            detail=detail,
            prev=prev,
            hash="",
            key_id=self._signing.key_id,
            sig="",
        )
        digest = entry.content_hash()
        return entry.model_copy(update={"hash": digest, "sig": self._signing.sign(digest.encode())})

    @staticmethod
    def _row(entry: AuditEntry) -> dict[str, object]:
        return {
            **entry.model_dump(exclude={"detail", "at"}),
            "at": entry.at.isoformat(),
            "detail": orjson.dumps(entry.detail, option=orjson.OPT_SORT_KEYS).decode(),
        }

    def entries(self, application_id: str) -> list[AuditEntry]:
        query = select(audit).where(audit.c.application_id == application_id).order_by(audit.c.seq)
        with self._db.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            AuditEntry.model_validate({**row, "detail": orjson.loads(row["detail"])})
            for row in rows
        ]

    def checkpoint(self, application_id: str) -> Checkpoint | None:
        query = select(audit_checkpoints).where(
            audit_checkpoints.c.application_id == application_id
        )
        with self._db.connect() as connection:
            row = connection.execute(query).mappings().first()
        return None if row is None else Checkpoint.model_validate(dict(row))

    def verify(self, application_id: str) -> tuple[int, str | None]:
        """(entries checked, why the first broken one is broken, or None if the chain holds
        and ends where its checkpoint says)."""
        entries = self.entries(application_id)
        checked, broken = self._verify_chain(entries)
        if broken is not None:
            return checked, broken
        return checked, self._verify_end(application_id, entries)

    def _verify_end(self, application_id: str, entries: list[AuditEntry]) -> str | None:
        checkpoint = self.checkpoint(application_id)
        if checkpoint is None:
            return None if not entries else "it has no checkpoint (its checkpoint was removed)"
        if not self._verifier.verify(checkpoint.key_id, checkpoint.signed_bytes(), checkpoint.sig):
            return "its checkpoint's signature is not the deployment's"
        if not entries:
            return (
                f"it has no entries, but its checkpoint counts {checkpoint.count}: it was deleted"
            )
        if len(entries) < checkpoint.count:
            return (
                f"it ends at entry {len(entries)}, but its checkpoint counts {checkpoint.count}: "
                f"entries {len(entries) + 1} to {checkpoint.count} were removed"
            )
        if len(entries) > checkpoint.count or entries[-1].hash != checkpoint.head:
            return f"its checkpoint (entry {checkpoint.count}) is not its newest entry"
        return None

    def _verify_chain(self, entries: list[AuditEntry]) -> tuple[int, str | None]:
        prev = GENESIS
        for expected, entry in enumerate(entries, start=1):
            where = f"entry {entry.seq}"
            if entry.seq != expected:
                return expected - 1, f"entry {expected} is missing (found {entry.seq} next)"
            if entry.prev != prev:
                return expected - 1, f"{where}: it does not follow the entry before it"
            if entry.content_hash() != entry.hash:
                return expected - 1, f"{where}: its content was altered"
            if not self._verifier.knows(entry.key_id):
                return expected - 1, f"{where}: signed with key {entry.key_id!r}, unknown here"
            if not self._verifier.verify(entry.key_id, entry.hash.encode(), entry.sig):
                return expected - 1, f"{where}: its signature is not the deployment's"
            prev = entry.hash
        return len(entries), None


class GroupCommit:
    """Appends from many coroutines of one process, written together: whatever waits while a
    transaction runs goes in the next one (the bridge answers 16 at a time; every answer used
    to be a transaction of its own). Each caller returns once its entries are written."""

    def __init__(self, trail: AuditTrail) -> None:
        self._trail = trail
        self._waiting: list[tuple[str, list[Link], asyncio.Future[None]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def append(self, application_id: str, links: list[Link]) -> None:
        written = asyncio.get_running_loop().create_future()
        self._waiting.append((application_id, links, written))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write())
        await written

    async def _write(self) -> None:
        while self._waiting:
            turn, self._waiting = self._waiting, []
            groups: dict[str, list[Link]] = {}
            for application_id, links, _ in turn:
                groups.setdefault(application_id, []).extend(links)
            try:
                await asyncio.to_thread(self._trail.append_groups, groups)
            except Exception as exc:  # every caller of this turn hears of it
                for *_, written in turn:
                    if not written.done():
                        written.set_exception(exc)
            else:
                for *_, written in turn:
                    if not written.done():
                        written.set_result(None)


def audit_trail(settings: Settings) -> AuditTrail:
    """The deployment's trail: its audit store, signed under its current audit key if this
    process holds it, verified with every audit public key it knows."""
    db = database.engine(database.url_of(settings, "audit"))
    signer = settings.signer("audit")
    verifier = settings.verifier("audit")
    return AuditTrail(db, signer, verifier)
