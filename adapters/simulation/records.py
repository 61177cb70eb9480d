"""A simulated department's own records, in SQLite: one row per command it has carried out,
and what it received to do each act (an undo names the act, not the applicant's data again)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from events.contracts import Action, Outcome, TaskCommand, TaskResult, idempotency_key
from infra.sqlite import open_store


class Records:
    """What the department did, keyed by idempotency key: a repeated command finds its answer."""

    def __init__(self, db: Path) -> None:
        self._db = open_store(
            db,
            "create table if not exists records (key text primary key, matter text not null,"
            " action text not null, state text not null, answer blob not null, at text not null)",
            "create table if not exists received (key text primary key, payload blob not null)",
        )

    def answer(self, key: str) -> dict[str, Any] | None:
        row = self._db.execute("select answer from records where key = ?", (key,)).fetchone()
        return None if row is None else dict(orjson.loads(row[0]))

    @staticmethod
    def body(result: TaskResult) -> dict[str, Any]:
        """A result as the department's HTTP answer carries it."""
        return {
            "outcome": result.outcome.value,
            "outputs": result.outputs,
            "reason": result.reason,
            "supplement_fields": result.supplement_fields,
            "reference": result.department_reference,
        }

    def record(self, command: TaskCommand, result: TaskResult, undone_state: str) -> dict[str, Any]:
        """Keep the answer to `command`; an undo also marks the record it undoes."""
        recorded = self.body(result)
        undoing = command.action is not Action.HANDLE and result.outcome is Outcome.COMPENSATED
        state = undone_state if undoing else result.outcome.value
        now = datetime.now(UTC).isoformat()
        with self._db:
            self._db.execute("begin")
            self._db.execute(
                "insert or ignore into records values (?, ?, ?, ?, ?, ?)",
                (
                    command.idempotency_key,
                    command.matter,
                    command.action.value,
                    state,
                    orjson.dumps(recorded),
                    now,
                ),
            )
            if command.action is Action.HANDLE:
                self._db.execute(
                    "insert or ignore into received values (?, ?)",
                    (command.idempotency_key, orjson.dumps(command.payload)),
                )
            if undoing:
                handled = idempotency_key(command.application_id, command.task_id, Action.HANDLE)
                self._db.execute(
                    "update records set state = ? where key = ?", (undone_state, handled)
                )
        return self.answer(command.idempotency_key) or recorded

    def with_act(self, command: TaskCommand) -> TaskCommand:
        """An undo command beside what the department received for the act it undoes."""
        if command.action is Action.HANDLE:
            return command
        handled = idempotency_key(command.application_id, command.task_id, Action.HANDLE)
        row = self._db.execute("select payload from received where key = ?", (handled,))
        found = row.fetchone()
        if found is None:
            return command
        return command.model_copy(update={"payload": {**orjson.loads(found[0]), **command.payload}})

    def all(self) -> list[dict[str, str]]:
        rows = self._db.execute("select key, matter, action, state, at from records order by at")
        return [dict(zip(("key", "matter", "action", "state", "at"), r, strict=True)) for r in rows]
