"""A simulated batch department: takes command files from its drop folder, answers with files.

It keeps its records like the HTTP simulators (one per idempotency key, so a command seen
again gets its recorded answer). A file `PAUSED` in its folder closes its batch window.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from pydantic import ValidationError

from adapters.base import answer, answer_from
from adapters.file_exchange import write_atomically
from adapters.simulation.engine import SimulatedDepartment, SystemDown
from adapters.simulation.records import Records
from events.contracts import Outcome, TaskCommand, TaskResult


class BatchDepartment:
    def __init__(self, simulator: SimulatedDepartment, records: Records, folder: Path) -> None:
        self._simulator = simulator
        self._records = records
        self._folder = folder
        self._drop = folder / "drop"
        self._taken = self._drop / "done"
        self._answers = folder / "answers"
        for path in (self._taken, self._answers):
            path.mkdir(parents=True, exist_ok=True)

    async def run(self, every: float = 0.3) -> None:
        while True:
            if not (self._folder / "PAUSED").exists():
                await self.process()
            await asyncio.sleep(every)

    async def process(self) -> int:
        """Answer every command file now in the drop folder, together, as one batch."""
        files = sorted(self._drop.glob("*.json"))
        await asyncio.gather(*(self._answer(path) for path in files))
        return len(files)

    async def _answer(self, path: Path) -> None:
        try:
            command = TaskCommand.model_validate_json(await asyncio.to_thread(path.read_bytes))
        except ValidationError:
            (self._drop / "rejected").mkdir(exist_ok=True)
            os.replace(path, self._drop / "rejected" / path.name)
            return
        try:
            result = await self._result(command)
        except SystemDown:  # the system failed this one: it is answered `failed`
            result = answer(command, Outcome.FAILED, reason="the batch system failed it")
        if result is not None:
            write_atomically(self._answers / path.name, result.model_dump_json().encode())
        os.replace(path, self._taken / path.name)

    async def _result(self, command: TaskCommand) -> TaskResult | None:
        recorded = self._records.answer(command.idempotency_key)
        if recorded is not None:
            return answer_from(command, recorded)
        result = await self._simulator.handle(self._records.with_act(command))
        if result is not None and result.outcome is not Outcome.SUPPLEMENT_REQUIRED:
            self._records.record(command, result, self._simulator.undo_state(command))
        return result
