"""The file-exchange adapter: a department system that trades batch files.

Every attempt of a command is written once, as `<folder>/drop/<name>.json` (the TaskCommand
JSON Schema); the department answers with a TaskResult JSON file of the same name in
`<folder>/answers/`. An answer is published to dept.results and then moved to
`answers/done/`; one that does not parse goes to onething.dlq and to `answers/rejected/`. A
ledger in the shared database remembers what was sent and collected, so a restart (and the
redelivery of commands it brings) neither writes a command twice nor publishes an answer
twice.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from aiokafka.errors import KafkaError
from pydantic import ValidationError
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from adapters.base import DepartmentAdapter, signed
from events import topics
from events.contracts import TaskCommand, TaskResult
from events.envelope import HEADERS, dumps, wrap
from infra.database import files, insert_ignoring
from infra.kafka import Producer
from infra.lease import Lease
from infra.logging import get_logger
from infra.sealing import Sealer
from infra.settings import Settings

log = get_logger(__name__)


def file_name(command: TaskCommand) -> str:
    """One file per command attempt: `<application>__<task>__<action>__<attempt>.json`."""
    return f"{command.idempotency_key.replace('/', '__')}__{command.attempt}.json"


def write_atomically(path: Path, content: bytes) -> None:
    """Readers never see half a file: write aside, then rename into place."""
    aside = path.with_name(f".{path.name}.part")
    aside.write_bytes(content)
    os.replace(aside, path)


class Exchange:
    """The folders of one department and the ledger of what went through them."""

    def __init__(self, folder: Path, ledger: Engine) -> None:
        self.drop = folder / "drop"
        self.answers = folder / "answers"
        self.done = self.answers / "done"
        self.rejected = self.answers / "rejected"
        for path in (self.drop, self.done, self.rejected):
            path.mkdir(parents=True, exist_ok=True)
        self._ledger = ledger

    def seen(self, name: str, way: str) -> bool:
        query = select(files.c.name).where(files.c.name == name, files.c.way == way)
        with self._ledger.connect() as connection:
            return connection.execute(query).first() is not None

    def remember(self, name: str, way: str) -> None:
        with self._ledger.begin() as connection:
            connection.execute(insert_ignoring(files, self._ledger), {"name": name, "way": way})


class FileExchangeDepartment(DepartmentAdapter):
    """Writes each command attempt into the drop folder once; answers come back as files."""

    def __init__(self, department: str, exchange: Exchange) -> None:
        self.department = department
        self._exchange = exchange

    async def handle(self, command: TaskCommand) -> TaskResult | None:
        name = file_name(command)
        if not self._exchange.seen(name, "sent"):
            write_atomically(self._exchange.drop / name, command.model_dump_json().encode())
            self._exchange.remember(name, "sent")
        return None  # the answer comes as a file


class AnswerCollector:
    """Publishes each answer file of one department once, then files it away."""

    def __init__(
        self,
        department: str,
        exchange: Exchange,
        producer: Producer,
        settings: Settings,
        lease: Lease,
    ) -> None:
        self.department = department
        self._exchange = exchange
        self._producer = producer
        self._settings = settings
        self._lease = lease

    async def run(self, every: float = 0.2) -> None:
        """Collect while this replica holds the department's lease (one replica at a time)."""
        while True:
            try:
                if await asyncio.to_thread(self._lease.hold):
                    await self.collect()
            except KafkaError as exc:  # the broker is away: the files wait in answers/
                log.warning("answer_files_waiting", department=self.department, error=str(exc))
            except SQLAlchemyError as exc:  # the database is away: nobody collects meanwhile
                log.warning("answer_lease_unknown", department=self.department, error=str(exc))
            await asyncio.sleep(every)

    async def collect(self) -> int:
        """Handle every answer file now in the folder; return how many were published."""
        published = 0
        for path in sorted(self._exchange.answers.glob("*.json")):
            if not self._exchange.seen(path.name, "collected"):
                raw = path.read_bytes()
                try:
                    result = TaskResult.model_validate_json(raw)
                    if result.department != self.department:
                        raise ValueError(f"an answer of {result.department}, not {self.department}")
                except (ValidationError, ValueError) as exc:
                    await self._dead_letter(path, raw, str(exc))
                    continue
                await self._producer.send(
                    topics.RESULTS,
                    dumps(wrap(signed(result, self._settings))),
                    key=topics.key(result.application_id),
                    headers=HEADERS,
                )
                self._exchange.remember(path.name, "collected")
                published += 1
                log.info(
                    "answer_file_collected",
                    department=self.department,
                    application_id=result.application_id,
                    task_id=result.task_id,
                    outcome=result.outcome.value,
                )
            os.replace(path, self._exchange.done / path.name)
        return published

    async def _dead_letter(self, path: Path, raw: bytes, reason: str) -> None:
        letter = Sealer.of(self._settings).dead_letter(
            f"invalid answer file: {reason}", raw, f"file:{path}", -1, -1
        )
        await self._producer.send(topics.DLQ, letter.encode())
        os.replace(path, self._exchange.rejected / path.name)
        log.warning("answer_file_dead_lettered", department=self.department, file=path.name)
