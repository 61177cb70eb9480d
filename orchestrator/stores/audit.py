"""The audit trail (留痕): every exchange with a department and every operator action, appended
to a hash-chained log per application.

Each entry carries the hash of the one before it and an HMAC of its own hash under an audit
key (derived from a reply key, named by its id), so an entry altered, removed or inserted
afterwards breaks the chain where it happened: `onething audit verify ID` names the first
broken entry. Entries name fields, never their values (no personal data in the trail).
Appends from several processes (the worker sends commands, the bridge takes answers, the API
records operators) serialise on the (application, seq) key: a writer that loses the race
reads the new head and tries again.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
from contextlib import ExitStack
from datetime import UTC, datetime

import orjson
from pydantic import BaseModel, Field, JsonValue
from sqlalchemy import Connection, Engine, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from infra import database
from infra.database import audit
from infra.settings import Settings

AUDIT_PURPOSE = b"onething audit trail"
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


class AuditTrail:
    def __init__(self, db: Engine, keys: dict[str, bytes], key_id: str) -> None:
        self._db = db
        self._keys = {
            k: hmac.new(v, AUDIT_PURPOSE, hashlib.sha256).digest() for k, v in keys.items()
        }
        self._key_id = key_id
        self._locks = [threading.Lock() for _ in range(LOCK_STRIPES)]

    def _sign(self, key_id: str, digest: str) -> str | None:
        key = self._keys.get(key_id)
        return None if key is None else hmac.new(key, digest.encode(), hashlib.sha256).hexdigest()

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
                except IntegrityError:  # another writer took a seq: read again
                    continue
                return written
        raise RuntimeError(f"the audit trails of {sorted(groups)} stayed contended")

    @staticmethod
    def _heads(connection: Connection, application_ids: list[str]) -> dict[str, tuple[int, str]]:
        """The newest entry's (seq, hash) of each application; (0, GENESIS) if it has none.
        Read, not remembered: the worker and the bridge take turns on one chain, so a head
        this process wrote last was stale at nearly every append (one failed transaction
        per application in each, measured over 100 openings)."""
        rows = connection.execute(HEADS, {"ids": application_ids})
        found = {row.application_id: (row.seq, row.hash) for row in rows}
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
            key_id=self._key_id,
            sig="",
        )
        digest = entry.content_hash()
        signature = self._sign(self._key_id, digest)
        assert signature is not None
        return entry.model_copy(update={"hash": digest, "sig": signature})

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

    def verify(self, application_id: str) -> tuple[int, str | None]:
        """(entries checked, why the first broken one is broken, or None if the chain holds)."""
        prev = GENESIS
        entries = self.entries(application_id)
        for expected, entry in enumerate(entries, start=1):
            where = f"entry {entry.seq}"
            if entry.seq != expected:
                return expected - 1, f"entry {expected} is missing (found {entry.seq} next)"
            if entry.prev != prev:
                return expected - 1, f"{where}: it does not follow the entry before it"
            if entry.content_hash() != entry.hash:
                return expected - 1, f"{where}: its content was altered"
            signature = self._sign(entry.key_id, entry.hash)
            if signature is None or not hmac.compare_digest(signature, entry.sig):
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
    """The deployment's trail: its audit store, signed under its current reply key."""
    db = database.engine(database.url_of(settings, "audit"))
    return AuditTrail(db, settings.reply_key_bytes(), settings.reply_key_id)
